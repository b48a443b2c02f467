"""Locates the built Swift executables through $HARMONY_BIN_DIR (set by Samples/python/run_tests.sh)."""

import os

import pytest


def binary(name):
    directory = os.environ.get("HARMONY_BIN_DIR")
    if not directory:
        pytest.fail("HARMONY_BIN_DIR is not set: build with `swift build -c release` and set it to the directory "
                    "holding `harmony` and `harmonyd` (Samples/python/run_tests.sh does this)")
    path = os.path.join(directory, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} does not exist or is not executable: build it with `swift build -c release` first")
    return path
