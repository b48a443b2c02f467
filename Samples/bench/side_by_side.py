"""Side-by-side timing for the bench scripts: each tool runs in its own process under GNU time, the tools
alternate, and medians are taken over the repetitions."""
import json
import statistics
import subprocess
import tempfile
import time


def timed(command):
    """Runs `command` under GNU time; returns wall seconds and its peak resident memory in bytes."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name] + command, check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        return seconds, int(report.read().split()[-1]) * 1024


def alternate(tools, repeat):
    """Runs every command of `tools` (name -> argv) `repeat` times, alternating, printing one JSON line per run.
    Returns name -> (median seconds, median peak bytes)."""
    runs = {name: [] for name in tools}
    for _ in range(repeat):
        for name, command in tools.items():
            seconds, peak = timed(command)
            runs[name].append((seconds, peak))
            print(json.dumps({"tool": name, "seconds": round(seconds, 2), "peak_rss_gb": round(peak / 1e9, 2)}),
                  flush=True)
    return {name: (statistics.median(s for s, _ in r), statistics.median(p for _, p in r)) for name, r in runs.items()}
