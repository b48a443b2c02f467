"""The same sample messages as Tests/HarmonyProtocolTests/SampleMessages.swift, keyed by golden vector name."""

import os

import numpy as np

from harmony_swift import harmony_client as hc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
VECTORS = os.path.join(REPO, "Protocols", "vectors")


def f32(values, shape=None):
    a = np.asarray(values, dtype=np.float32)
    return a.reshape(shape) if shape else a


SAMPLES = {
    "hello": (1, hc.HelloRequest("py", 1, 1)),
    "hello_reply": (1, hc.HelloReply(1, "harmonyd")),
    "info": (2, hc.EmptyRequest(hc.INFO)),
    "info_reply": (2, hc.Info(3, 2, 4, 1000, 1 << 20, 500, 8, ["b1", "b2"], ["T", "B cell"])),
    "map": (7, hc.MapRequest("q1", f32([0.5, -1.25, 2, 0], (2, 2)), ["c1", "c2"])),
    "map_no_ids": (8, hc.MapRequest("q1", f32([1, 2, 3], (1, 3)))),
    "map_reply": (7, hc.MapResult(3, f32([0.25, -1, 1.5, 0.125], (2, 2)), np.array([1, 3], dtype=np.uint32),
                                  f32([0.75, 0.5]), np.array([0, -1], dtype=np.int32), f32([0.875, 0]))),
    "stats": (9, hc.EmptyRequest(hc.STATS)),
    "stats_reply": (9, hc.Stats(3, 12345, 300, 100, 42, 1, 0, 2, True,
                                {"p50": 150, "p90": 400, "p99": 900, "p999": 2500}, {"q1": 200, "q2": 100})),
    "refit": (10, hc.EmptyRequest(hc.REFIT)),
    "refit_reply": (10, hc.RefitResult(True, 3, "refit started")),
    "export": (11, hc.ExportRequest("q1")),
    "export_reply": (11, hc.ExportResult(3, f32([0.25, -1, 1.5, 0.125], (2, 2)), ["c1", "c2"])),
    "error": (12, hc.ErrorReply(6, "BAD_DIMENSION", "expected d = 2, got 3")),
    "forget": (13, hc.ForgetRequest("q1")),
    "forget_reply": (13, hc.ForgetResult(2)),
    "map_transient": (14, hc.TransientMapRequest("q1", f32([0.5, -1.25, 2, 0], (2, 2)), ["c1", "c2"])),
    "map_transient_reply": (14, hc.TransientMapResult(3, f32([0.25, -1, 1.5, 0.125], (2, 2)),
                                                      np.array([1, 3], dtype=np.uint32), f32([0.75, 0.5]),
                                                      np.array([0, -1], dtype=np.int32), f32([0.875, 0]))),
    "map_expression": (21, hc.ExpressionMapRequest("q1", 3, hc.COUNTS, np.array([True, True, False]),
                                                   np.array([120.0, 80.0]), np.array([0, 2, 3], dtype=np.uint32),
                                                   np.array([0, 1, 1], dtype=np.uint32), f32([5, 1, 2]), ["c1", "c2"])),
    "map_expression_transient": (22, hc.TransientExpressionMapRequest(
        "q2", 3, hc.LOG_NORMALIZED, np.array([True, True, True]), np.array([0.0]), np.array([0, 1], dtype=np.uint32),
        np.array([2], dtype=np.uint32), f32([0.5]))),
    "map_expression_reply": (21, hc.ExpressionMapResult(3, f32([0.25, -1, 1.5, 0.125], (2, 2)),
                                                        np.array([1, 3], dtype=np.uint32), f32([0.75, 0.5]),
                                                        np.array([0, -1], dtype=np.int32), f32([0.875, 0]),
                                                        f32([1.5, 2.5]))),
    "map_expression_transient_reply": (22, hc.TransientExpressionMapResult(
        3, f32([0.25, -1, 1.5, 0.125], (2, 2)), np.array([1, 3], dtype=np.uint32), f32([0.75, 0.5]),
        np.array([0, -1], dtype=np.int32), f32([0.875, 0]), f32([1.5, 2.5]))),
    "map_reply_v3": (7, hc.MapResult(3, f32([0.25, -1, 1.5, 0.125], (2, 2)), np.array([1, 3], dtype=np.uint32),
                                     f32([0.75, 0.5]), np.array([0, -1], dtype=np.int32), f32([0.875, 0]),
                                     f32([-1, -1]))),
    "info_reply_v3": (2, hc.Info(3, 2, 4, 1000, 1 << 20, 500, 8, ["b1", "b2"], ["T", "B cell"], True,
                                 [("ENSG01", "CD3E"), ("ENSG02", "MS4A1")], "counts", 10000.0)),
}

# Samples of a layout that grew in a later version travel in frames of that version (the golden header says so).
VERSIONS = {"map_reply_v3": 3, "info_reply_v3": 3}


def golden(name):
    path = os.path.join(VECTORS, name + ".hex")
    with open(path) as fh:
        return bytes.fromhex("".join(fh.read().split()))


def same(a, b):
    """Dataclass equality that compares numpy arrays exactly (values and dtype)."""
    if type(a) is not type(b):
        return False
    for key, value in vars(a).items():
        other = vars(b)[key]
        if isinstance(value, np.ndarray):
            if not (isinstance(other, np.ndarray) and value.dtype == other.dtype and value.shape == other.shape
                    and np.array_equal(value, other)):
                return False
        elif value != other:
            return False
    return True
