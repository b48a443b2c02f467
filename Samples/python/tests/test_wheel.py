"""A built wheel runs where no Swift toolchain is reachable: it carries libHarmonyC.so and the Swift runtime
libraries it loads, found through $ORIGIN run paths."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

PROJECT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def host_is_tuned():
    """Whether this CPU has what the tuned library needs (then the wheel carries it and it is loaded)."""
    with open("/proc/cpuinfo") as fh:
        flags = set(next(line for line in fh if line.startswith("flags")).split())
    return flags.issuperset({"avx2", "fma", "bmi2", "f16c", "movbe"})


# The library a run loads here: the tuned build on AVX2/FMA CPUs, else the portable one.
LOADED = "libHarmonyC-avx2.so" if host_is_tuned() else "libHarmonyC.so"

CHECK = r"""
import shutil, sys
import numpy as np
assert shutil.which("swift") is None, "swift is on the PATH"
import harmony_swift as hs
assert hs.__file__.startswith(sys.prefix), hs.__file__
rng = np.random.default_rng(0)
x = np.vstack([rng.normal(0, 1, (100, 5)), rng.normal(2, 1, (100, 5))]).astype(np.float32)
result = hs.run_harmony(x, {"b": ["a"] * 100 + ["b"] * 100}, "b", nclust=4)
assert result.Z_corr.shape == (200, 5) and np.isfinite(result.Z_corr).all()
maps = open("/proc/self/maps").read()
libs = sorted({line.split()[-1] for line in maps.splitlines() if ".so" in line})
print("\n".join(libs))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if shutil.which("swift") is None:
        pytest.fail("building the wheel needs `swift` on the PATH")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    PROJECT], check=True)
    wheels = [f for f in os.listdir(out) if f.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return os.path.join(out, wheels[0])


def test_wheel_carries_the_native_library_and_the_swift_runtime(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "harmony_swift/.libs/libHarmonyC.so" in names
    # Built on a CPU with AVX2 and FMA, the wheel also carries the tuned build.
    assert ("harmony_swift/.libs/libHarmonyC-avx2.so" in names) == host_is_tuned()
    assert "harmony_swift/.libs/libswiftCore.so" in names
    assert os.path.basename(wheel).endswith("-py3-none-linux_x86_64.whl")


def test_wheel_runs_without_swift(wheel, tmp_path):
    toolchain = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("swift"))))  # .../usr
    venv = tmp_path / "venv"
    # numpy comes from the system's site-packages; harmony_swift only from the wheel (checked in CHECK).
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel], check=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([python, "-c", CHECK], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    loaded = run.stdout.split()
    assert not [lib for lib in loaded if lib.startswith(toolchain)], f"loaded from the toolchain: {loaded}"
    bundled = [lib for lib in loaded if "/harmony_swift/.libs/" in lib]
    assert any(lib.endswith("/" + LOADED) for lib in bundled)
    assert any(lib.endswith("/libswiftCore.so") for lib in bundled)
    # The loader's own view, with a clean environment: every dependency resolves, none into the toolchain.
    libs = os.path.dirname([lib for lib in bundled if lib.endswith("/" + LOADED)][0])
    for name in {"libHarmonyC.so", LOADED}:
        ldd = subprocess.run(["ldd", os.path.join(libs, name)], env=env, capture_output=True, text=True,
                             check=True).stdout
        assert "not found" not in ldd and toolchain not in ldd, ldd
    # The portable library works too (what a CPU without AVX2 loads).
    env["HARMONY_C_LIBRARY"] = os.path.join(libs, "libHarmonyC.so")
    run = subprocess.run([python, "-c", CHECK], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert env["HARMONY_C_LIBRARY"] in run.stdout.split()
