#!/usr/bin/env python3
"""The disk's own durability floor: latency of one small pwrite + fdatasync, as harmonyd's write-ahead log
issues it for a single-cell MAP.

Two cases: writing into zero-filled, already synced space (what harmonyd does, see WriteAheadLog) and
appending past the end of the file (each sync then also commits the file size). No client round trip and no
daemon is involved, so a single-cell MAP acknowledged only after its record is durable cannot be faster than
the first line on the same disk.

Usage: python3 Samples/bench/fsync_floor.py [DIRECTORY] [--samples N]
"""
import argparse
import os
import tempfile
import time


def measure(directory, preallocate, samples, record_bytes=200):
    fd, path = tempfile.mkstemp(dir=directory, prefix="fsync-floor-")
    try:
        if preallocate:
            os.write(fd, b"\0" * (samples * record_bytes + (1 << 20)))
            os.fsync(fd)
        record = b"x" * record_bytes
        latencies = []
        for i in range(samples):
            start = time.perf_counter()
            os.pwrite(fd, record, i * record_bytes)
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - start) * 1e6)
        latencies.sort()
        return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=tempfile.gettempdir(),
                        help="a directory on the disk to measure (default: the temporary directory)")
    parser.add_argument("--samples", type=int, default=3000, help="writes per case (default 3000)")
    args = parser.parse_args()
    for preallocate, name in [(True, "into preallocated space"), (False, "appending")]:
        p50, p99 = measure(args.directory, preallocate, args.samples)
        print(f"pwrite + fdatasync {name:24s} p50 {p50:6.0f} us  p99 {p99:6.0f} us")


if __name__ == "__main__":
    main()
