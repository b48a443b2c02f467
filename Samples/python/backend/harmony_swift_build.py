"""PEP 517 backend of harmony-swift: builds libHarmonyC with SwiftPM and writes a wheel that carries it.

`pip install ./Samples/python` and `pip wheel Samples/python` call `build_wheel`, which
1. runs `swift build -c release --product HarmonyC` in the repository without HARMONY_NATIVE (code for any
   x86-64 CPU, in a scratch directory of its own, .build-python, so that this build and the usual
   `swift build` do not invalidate each other); and, when the build host has AVX2 and FMA (and
   HARMONY_NATIVE is not set to 0), once more with HARMONY_NATIVE=1, tuned for such CPUs (in .build, where
   Samples/test.sh has usually built it already). The portable build calls libm's fmaf where
   the tuned one has vector FMA instructions: measured 4x slower on the Harmony fit. The package loads the
   tuned library on CPUs that have the instructions, the portable one elsewhere;
2. copies the libraries and every Swift runtime library it loads from the toolchain (found with `ldd`) into
   harmony_swift/.libs, and sets their run path to `$ORIGIN` with patchelf, so the wheel runs where no Swift
   toolchain is installed (system libraries such as OpenBLAS, zlib and libstdc++ stay the system's);
3. zips the package with its metadata (name and dependencies from pyproject.toml, version from
   harmony_swift/__init__.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)                       # Samples/python
ROOT = os.path.dirname(os.path.dirname(PROJECT))      # the repository (Package.swift)
PACKAGE = "harmony_swift"


class BuildError(RuntimeError):
    pass


# ---- PEP 517 hooks -------------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return [] if sys.version_info >= (3, 11) else ["tomli"]


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name = _dist_info_name()
    os.makedirs(os.path.join(metadata_directory, name), exist_ok=True)
    for filename, text in _metadata_files().items():
        with open(os.path.join(metadata_directory, name, filename), "w", encoding="utf-8") as fh:
            fh.write(text)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    libraries = {"libHarmonyC.so": _swift_build(portable=True)}
    if os.environ.get("HARMONY_NATIVE") != "0" and _host_has_avx2():
        libraries["libHarmonyC-avx2.so"] = _swift_build(portable=False)
    with tempfile.TemporaryDirectory() as staging:
        package = os.path.join(staging, PACKAGE)
        shutil.copytree(os.path.join(PROJECT, PACKAGE), package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".libs"))
        _bundle(libraries, os.path.join(package, ".libs"))
        return _write_wheel(staging, wheel_directory)


# ---- the native library --------------------------------------------------------------------------------

# The CPU features Package.swift requires before it tunes HarmonyCore for Haswell-class CPUs; harmony_swift
# checks the same list (_native.TUNED_FLAGS) before it loads the tuned library.
TUNED_FLAGS = ("avx2", "fma", "bmi2", "f16c", "movbe")


def _host_has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:
        return False
    return all(flag in flags for flag in TUNED_FLAGS)


def _swift_build(portable: bool) -> str:
    if not os.path.exists(os.path.join(ROOT, "Package.swift")):
        raise BuildError(f"harmony-swift builds its native library from the repository checkout; {ROOT} has no "
                         "Package.swift (build the wheel from Samples/python of a checkout)")
    swift = shutil.which("swift")
    if swift is None:
        raise BuildError("`swift` is not on the PATH: install Swift 6 (https://www.swift.org/install/linux/) "
                         "and put its usr/bin on the PATH, then run the install again")
    env = {key: value for key, value in os.environ.items() if key != "HARMONY_NATIVE"}
    if not portable:
        env["HARMONY_NATIVE"] = "1"
    scratch = os.path.join(ROOT, ".build-python" if portable else ".build")
    command = [swift, "build", "-c", "release", "--product", "HarmonyC", "--package-path", ROOT,
               "--scratch-path", scratch]
    print("harmony-swift: " + " ".join(command), file=sys.stderr, flush=True)
    if subprocess.run(command, env=env, stdout=sys.stderr).returncode != 0:
        raise BuildError("`swift build --product HarmonyC` failed (its errors are above)")
    bin_dir = subprocess.run(command + ["--show-bin-path"], env=env, check=True, capture_output=True,
                             text=True).stdout.strip()
    library = os.path.join(bin_dir, "libHarmonyC.so")
    if not os.path.exists(library):
        raise BuildError(f"the build did not produce {library}")
    return library


def _toolchain_libraries(swift: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(swift))), "lib", "swift", "linux")


def _bundle(libraries, directory: str) -> None:
    """Copies the libraries ({name in the wheel: built path}) and the toolchain libraries they need into
    `directory`, with $ORIGIN run paths."""
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        raise BuildError("patchelf is needed to make the wheel relocatable: `apt-get install patchelf` "
                         "(Debian) or `pip install patchelf`")
    toolchain = _toolchain_libraries(shutil.which("swift"))
    os.makedirs(directory, exist_ok=True)
    copies = set()
    for name, library in libraries.items():
        copies.add(shutil.copy2(library, os.path.join(directory, name)))
        for path in _ldd(library):
            if os.path.realpath(path).startswith(os.path.realpath(toolchain) + os.sep):
                copies.add(shutil.copy2(path, os.path.join(directory, os.path.basename(path))))
    copies = sorted(copies)
    for path in copies:
        os.chmod(path, 0o755)
        subprocess.run([patchelf, "--set-rpath", "$ORIGIN", path], check=True)
        print(f"harmony-swift: bundled {os.path.basename(path)}", file=sys.stderr)


def _ldd(library: str):
    """Resolved paths of every library `library` loads, directly or not."""
    out = subprocess.run(["ldd", library], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        match = re.search(r"=>\s+(/\S+)", line)
        if match:
            yield match.group(1)
        elif "not found" in line:
            raise BuildError(f"{library} needs {line.split()[0]}, which the loader cannot find")


# ---- the wheel -----------------------------------------------------------------------------------------

def _project():
    try:
        import tomllib
    except ImportError:
        import tomli as tomllib
    with open(os.path.join(PROJECT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)["project"]


def _version() -> str:
    with open(os.path.join(PROJECT, PACKAGE, "__init__.py"), encoding="utf-8") as fh:
        match = re.search(r'^__version__ = "([^"]+)"', fh.read(), re.M)
    if not match:
        raise BuildError(f"{PACKAGE}/__init__.py has no __version__")
    return match.group(1)


def _dist_info_name() -> str:
    return f"{_project()['name'].replace('-', '_')}-{_version()}.dist-info"


def _tag() -> str:
    # The library is loaded with ctypes, so any Python 3 on this platform can use it.
    return "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _metadata_files():
    project = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {_version()}",
             f"Summary: {project['description']}", f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {d}; extra == \"{extra}\"" for d in deps]
    with open(os.path.join(PROJECT, project["readme"]), encoding="utf-8") as fh:
        readme = fh.read()
    metadata = "\n".join(lines) + "\nDescription-Content-Type: text/markdown\n\n" + readme
    wheel = ("Wheel-Version: 1.0\nGenerator: harmony_swift_build\nRoot-Is-Purelib: false\n"
             f"Tag: {_tag()}\n")
    return {"METADATA": metadata, "WHEEL": wheel}


def _write_wheel(staging: str, wheel_directory: str) -> str:
    dist_info = _dist_info_name()
    files = {}
    for base, dirs, names in os.walk(staging):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(base, name)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, staging).replace(os.sep, "/")] = (fh.read(), os.stat(path).st_mode)
    for name, text in _metadata_files().items():
        files[f"{dist_info}/{name}"] = (text.encode("utf-8"), 0o644)
    record = []
    for name, (data, _) in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record).encode() + b"\n", 0o644)
    wheel_name = f"{_project()['name'].replace('-', '_')}-{_version()}-{_tag()}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return wheel_name
