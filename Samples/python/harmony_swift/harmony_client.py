"""Python client for harmonyd, written from Protocols/harmonyd-protocol.md (protocol versions 1 to 3).

Needs only numpy (and scipy for `reference_rows`, which AnnData input needs anyway). Typical use::

    from harmony_client import HarmonyClient
    with HarmonyClient.connect("/tmp/harmonyd.sock") as client:
        client.hello()
        info = client.info()
        result = client.map("query1", cells)          # cells: (n, d) float32
        final = client.export("query1")               # corrections using the whole batch
        peek = client.map_transient("query1", more)   # answered, not remembered (version 2)
        client.forget("query1")                       # drop the batch durably (version 2)
        result = client.map_expression("query1", csr_counts, totals, ids=ids)   # sparse counts (version 3)

The module holds the codec too (every request and reply can be encoded and decoded), so that its tests can
check the golden frames in Protocols/vectors/ exactly like the Swift tests do.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np

MAGIC = b"HMNY"
MIN_VERSION = 1  # the oldest protocol version spoken
VERSION = 3      # the newest; FORGET and MAP_TRANSIENT need 2, MAP_EXPRESSION 3
HEADER = struct.Struct("<4sBBHII")  # magic, version, type, flags, request id, payload length
HEADER_SIZE = HEADER.size
DEFAULT_MAX_PAYLOAD = 64 << 20
MAX_REPLY_PAYLOAD = 1 << 30

# Message types (the reply to request t is t | 0x80; ERROR answers any request).
HELLO, INFO, MAP, STATS, REFIT, EXPORT = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
HELLO_REPLY, INFO_REPLY, MAP_REPLY, STATS_REPLY, REFIT_REPLY, EXPORT_REPLY = 0x81, 0x82, 0x83, 0x84, 0x85, 0x86
FORGET, MAP_TRANSIENT, FORGET_REPLY, MAP_TRANSIENT_REPLY = 0x07, 0x08, 0x87, 0x88  # version 2
VERSION_2_TYPES = {FORGET, MAP_TRANSIENT, FORGET_REPLY, MAP_TRANSIENT_REPLY}
MAP_EXPRESSION, MAP_EXPRESSION_TRANSIENT = 0x09, 0x0A  # version 3
MAP_EXPRESSION_REPLY, MAP_EXPRESSION_TRANSIENT_REPLY = 0x89, 0x8A
VERSION_3_TYPES = {MAP_EXPRESSION, MAP_EXPRESSION_TRANSIENT, MAP_EXPRESSION_REPLY, MAP_EXPRESSION_TRANSIENT_REPLY}
COUNTS, LOG_NORMALIZED = 0, 1  # MAP_EXPRESSION value kinds
NO_MAPPING_DISTANCE = -1.0     # a version-3 MAP reply's distance when the model keeps no cluster spread
ERROR = 0xFF

ERROR_CODES = {
    1: "BAD_MAGIC", 2: "UNSUPPORTED_VERSION", 3: "UNKNOWN_TYPE", 4: "FRAME_TOO_LARGE", 5: "MALFORMED",
    6: "BAD_DIMENSION", 7: "NON_FINITE", 8: "TOO_MANY_CELLS", 9: "UNKNOWN_BATCH", 10: "BUSY",
    11: "REFIT_IN_PROGRESS", 12: "NOT_READY", 13: "INTERNAL", 14: "SHUTTING_DOWN", 15: "BAD_VALUE",
}
ERROR_NUMBERS = {name: code for code, name in ERROR_CODES.items()}


class ProtocolError(Exception):
    """Bytes that do not follow the protocol; `name` is the wire code name (e.g. MALFORMED)."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.code = ERROR_NUMBERS[name]
        self.message = message


class ServerError(Exception):
    """The server answered a request with an ERROR frame."""

    def __init__(self, code: int, name: str, message: str, request_id: int):
        super().__init__(f"server error {name}: {message}")
        self.code, self.name, self.message, self.request_id = code, name, message, request_id


# ---------------------------------------------------------------------------------------------------------------
# Payload reading and writing
# ---------------------------------------------------------------------------------------------------------------

class _Reader:
    """Reads a payload from an untrusted peer: every length is checked before it is used."""

    def __init__(self, payload: bytes):
        self.data = memoryview(payload)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or n > self.remaining():
            raise ProtocolError("MALFORMED", f"payload ends early: {what} needs {n} byte(s), {self.remaining()} remain")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size, what))

    def u8(self, what): return self.unpack("B", what)[0]
    def u16(self, what): return self.unpack("H", what)[0]
    def u32(self, what): return self.unpack("I", what)[0]
    def u64(self, what): return self.unpack("Q", what)[0]
    def f64(self, what): return self.unpack("d", what)[0]

    def boolean(self, what) -> bool:
        b = self.u8(what)
        if b not in (0, 1):
            raise ProtocolError("MALFORMED", f"{what} must be 0 or 1, got {b}")
        return b == 1

    def _utf8(self, n: int, what: str) -> str:
        raw = bytes(self.take(n, what))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("MALFORMED", f"{what} is not valid UTF-8") from None

    def str16(self, what) -> str: return self._utf8(self.u16(f"length of {what}"), what)
    def str32(self, what) -> str: return self._utf8(self.u32(f"length of {what}"), what)

    def strings16(self, count: int, what: str) -> List[str]:
        if count > self.remaining() // 2:
            raise ProtocolError("MALFORMED", f"{count} {what} announced, but only {self.remaining()} bytes remain")
        return [self.str16(f"{what} #{i}") for i in range(count)]

    def array(self, dtype: str, count: int, what: str, finite: bool = False) -> np.ndarray:
        size = np.dtype(dtype).itemsize
        if count > self.remaining() // size:
            raise ProtocolError("MALFORMED", f"{what} needs {count} x {size} bytes, but only {self.remaining()} remain")
        out = np.frombuffer(self.take(size * count, what), dtype=dtype).copy()
        if finite and not np.all(np.isfinite(out)):
            bad = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ProtocolError("NON_FINITE", f"{what} value #{bad} is {out[bad]}; only finite values are accepted")
        return out

    def shape(self, n: int, d: int, what: str) -> int:
        if n > 0 and d == 0:
            raise ProtocolError("BAD_DIMENSION", f"{what} has {n} cells of dimension 0")
        if n * d > self.remaining() // 4:
            raise ProtocolError("BAD_DIMENSION", f"{what} announces {n} x {d} values, but the payload has only "
                                                 f"{self.remaining()} bytes left")
        return n * d

    def finish(self, what: str) -> None:
        if self.remaining():
            raise ProtocolError("MALFORMED", f"{what} has {self.remaining()} unexpected trailing byte(s)")


def _str16(s: str) -> bytes:
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise ValueError(f"string of {len(b)} bytes does not fit a u16 length")
    return struct.pack("<H", len(b)) + b


def _str32(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def _f32(a) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


# ---------------------------------------------------------------------------------------------------------------
# Messages (one dataclass per message; `encode` gives the payload, `decode` reads one)
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class HelloRequest:
    client_name: str = "harmony-python"
    min_version: int = MIN_VERSION
    max_version: int = VERSION
    TYPE = HELLO

    def encode(self) -> bytes:
        return struct.pack("<BB", self.min_version, self.max_version) + _str16(self.client_name)

    @classmethod
    def decode(cls, r: _Reader) -> "HelloRequest":
        lo, hi = r.u8("min version"), r.u8("max version")
        return cls(r.str16("client name"), lo, hi)


@dataclass
class HelloReply:
    version: int
    server_name: str
    TYPE = HELLO_REPLY

    def encode(self) -> bytes:
        return struct.pack("<B", self.version) + _str16(self.server_name)

    @classmethod
    def decode(cls, r: _Reader) -> "HelloReply":
        return cls(r.u8("version"), r.str16("server name"))


@dataclass
class EmptyRequest:
    """INFO, STATS and REFIT requests carry no payload."""
    TYPE: int

    def encode(self) -> bytes:
        return b""


@dataclass
class Info:
    model_version: int
    dimensions: int
    clusters: int
    reference_cells: int
    max_frame_bytes: int
    max_cells_per_map: int
    max_connections: int
    batches: List[str]
    labels: List[str]
    # Version 3: whether MAP replies carry mapping distances, and the gene section (None without genes):
    # (id, name) per gene, "counts" (with target_sum) or "as_given".
    has_mapping_distance: bool = False
    genes: Optional[List[tuple]] = None
    normalization: Optional[str] = None
    target_sum: float = 0.0
    TYPE = INFO_REPLY
    VERSIONED = True

    def encode(self, version: int = VERSION) -> bytes:
        out = struct.pack("<QIIQIIII", self.model_version, self.dimensions, self.clusters, self.reference_cells,
                          self.max_frame_bytes, self.max_cells_per_map, self.max_connections, len(self.batches))
        out += b"".join(_str16(b) for b in self.batches)
        out += struct.pack("<I", len(self.labels)) + b"".join(_str16(l) for l in self.labels)
        if version >= 3:
            out += struct.pack("<BB", 1 if self.has_mapping_distance else 0, 0 if self.genes is None else 1)
            if self.genes is not None:
                out += struct.pack("<I", len(self.genes))
                out += b"".join(_str16(i) + _str16(n) for i, n in self.genes)
                counts = self.normalization == "counts"
                out += struct.pack("<Bd", 0 if counts else 1, self.target_sum if counts else 0.0)
        return out

    @classmethod
    def decode(cls, r: _Reader, version: int = VERSION) -> "Info":
        fixed = r.unpack("QIIQIII", "INFO fields")
        batches = r.strings16(r.u32("batch count"), "batch levels")
        labels = r.strings16(r.u32("label count"), "labels")
        info = cls(*fixed, batches, labels)
        if version >= 3:
            info.has_mapping_distance = r.boolean("has-mapping-distance flag")
            if r.boolean("has-genes flag"):
                count = r.u32("gene count")
                if count < 1 or count > r.remaining() // 4:
                    raise ProtocolError("MALFORMED", f"{count} genes announced, but only {r.remaining()} bytes remain")
                info.genes = [(r.str16(f"gene id #{g}"), r.str16(f"gene name #{g}")) for g in range(count)]
                kind, target = r.u8("normalization"), r.f64("target sum")
                if kind == 0:
                    if not (np.isfinite(target) and target > 0):
                        raise ProtocolError("MALFORMED", f"the target sum {target} is not a positive number")
                    info.normalization, info.target_sum = "counts", target
                elif kind == 1:
                    info.normalization = "as_given"
                else:
                    raise ProtocolError("MALFORMED", f"normalization must be 0 or 1, got {kind}")
        return info


@dataclass
class MapRequest:
    batch: str
    cells: np.ndarray
    cell_ids: Optional[List[str]] = None
    TYPE = MAP

    def encode(self) -> bytes:
        cells = np.asarray(self.cells, dtype=np.float32)
        if cells.ndim != 2:
            raise ValueError("cells must be a 2-D array (cells x dimensions)")
        n, d = cells.shape
        if self.cell_ids is not None and len(self.cell_ids) != n:
            raise ValueError(f"{len(self.cell_ids)} cell ids for {n} cells")
        if not self.batch:
            raise ValueError("the batch label must not be empty")
        out = _str16(self.batch) + struct.pack("<IIB", n, d, 0 if self.cell_ids is None else 1) + _f32(cells)
        if self.cell_ids is not None:
            out += b"".join(_str16(str(i)) for i in self.cell_ids)
        return out

    @classmethod
    def decode(cls, r: _Reader) -> "MapRequest":
        batch = r.str16("batch label")
        if not batch:
            raise ProtocolError("MALFORMED", "the MAP batch label is empty")
        n, d = r.u32("cell count"), r.u32("d")
        has_ids = r.boolean("has-ids flag")
        if n < 1 or d < 1:
            raise ProtocolError("BAD_DIMENSION",
                                f"a MAP needs at least one cell of at least one dimension, got {n} x {d}")
        cells = r.array("<f4", r.shape(n, d, "MAP"), "cell", finite=True).reshape(n, d)
        ids = r.strings16(n, "cell ids") if has_ids else None
        return cls(batch, cells, ids)


@dataclass
class MapResult:
    model_version: int
    corrected: np.ndarray          # (n, d) float32
    top_cluster: np.ndarray        # (n,) uint32
    top_probability: np.ndarray    # (n,) float32
    predicted_label: np.ndarray    # (n,) int32, -1 = none
    label_confidence: np.ndarray   # (n,) float32
    mapping_distance: Optional[np.ndarray] = None  # (n,) float32, version 3; -1 = not available
    TYPE = MAP_REPLY
    VERSIONED = True

    def encode(self, version: int = VERSION) -> bytes:
        n, d = self.corrected.shape
        out = (struct.pack("<QII", self.model_version, n, d) + _f32(self.corrected)
               + np.ascontiguousarray(self.top_cluster, dtype="<u4").tobytes() + _f32(self.top_probability)
               + np.ascontiguousarray(self.predicted_label, dtype="<i4").tobytes() + _f32(self.label_confidence))
        if version >= 3:
            distance = self.mapping_distance
            out += _f32(np.full(n, NO_MAPPING_DISTANCE) if distance is None else distance)
        return out

    @classmethod
    def decode(cls, r: _Reader, version: int = VERSION) -> "MapResult":
        model_version, n, d = r.u64("model version"), r.u32("cell count"), r.u32("d")
        corrected = r.array("<f4", r.shape(n, d, "MAP reply"), "corrected", finite=True).reshape(n, d)
        result = cls(model_version, corrected, r.array("<u4", n, "top cluster"),
                     r.array("<f4", n, "top cluster probability", finite=True),
                     r.array("<i4", n, "predicted label"), r.array("<f4", n, "label confidence", finite=True))
        if version >= 3:
            result.mapping_distance = r.array("<f4", n, "mapping distance", finite=True)
        return result


@dataclass
class Stats:
    model_version: int
    uptime_ms: int
    cells_mapped: int
    cells_pending_refit: int
    requests_served: int
    refits_done: int
    refits_failed: int
    connections: int
    refit_running: bool
    latency_us: dict                # p50, p90, p99, p999
    batches: dict = field(default_factory=dict)   # batch -> cells
    TYPE = STATS_REPLY

    def encode(self) -> bytes:
        lat = self.latency_us
        out = struct.pack("<QQQQQIIIBQQQQI", self.model_version, self.uptime_ms, self.cells_mapped,
                          self.cells_pending_refit, self.requests_served, self.refits_done, self.refits_failed,
                          self.connections, 1 if self.refit_running else 0, lat["p50"], lat["p90"], lat["p99"],
                          lat["p999"], len(self.batches))
        return out + b"".join(_str16(b) + struct.pack("<Q", c) for b, c in self.batches.items())

    @classmethod
    def decode(cls, r: _Reader) -> "Stats":
        head = r.unpack("QQQQQIII", "STATS counters")
        running = r.boolean("refit running flag")
        p50, p90, p99, p999 = r.unpack("QQQQ", "latency percentiles")
        count = r.u32("batch count")
        if count > r.remaining() // 10:
            raise ProtocolError("MALFORMED", f"{count} batch counts announced, but only {r.remaining()} bytes remain")
        batches = {}
        for i in range(count):
            name = r.str16(f"batch #{i}")
            batches[name] = r.u64(f"cells of batch #{i}")
        return cls(*head, running, {"p50": p50, "p90": p90, "p99": p99, "p999": p999}, batches)


@dataclass
class RefitResult:
    accepted: bool
    model_version: int
    message: str
    TYPE = REFIT_REPLY

    def encode(self) -> bytes:
        return struct.pack("<BQ", 1 if self.accepted else 0, self.model_version) + _str32(self.message)

    @classmethod
    def decode(cls, r: _Reader) -> "RefitResult":
        return cls(r.boolean("accepted flag"), r.u64("model version"), r.str32("message"))


@dataclass
class ExportRequest:
    batch: str
    TYPE = EXPORT

    def encode(self) -> bytes:
        return _str16(self.batch)

    @classmethod
    def decode(cls, r: _Reader) -> "ExportRequest":
        batch = r.str16("batch label")
        if not batch:
            raise ProtocolError("MALFORMED", "the EXPORT batch label is empty")
        return cls(batch)


@dataclass
class ExportResult:
    model_version: int
    corrected: np.ndarray   # (n, d) float32, arrival order
    cell_ids: List[str]
    TYPE = EXPORT_REPLY

    def encode(self) -> bytes:
        n, d = self.corrected.shape
        return (struct.pack("<QII", self.model_version, n, d) + _f32(self.corrected)
                + b"".join(_str16(i) for i in self.cell_ids))

    @classmethod
    def decode(cls, r: _Reader) -> "ExportResult":
        version, n, d = r.u64("model version"), r.u32("cell count"), r.u32("d")
        corrected = r.array("<f4", r.shape(n, d, "EXPORT reply"), "corrected", finite=True).reshape(n, d)
        return cls(version, corrected, r.strings16(n, "cell ids"))


@dataclass
class ErrorReply:
    code: int
    name: str
    message: str
    TYPE = ERROR

    def encode(self) -> bytes:
        return struct.pack("<H", self.code) + _str16(self.name) + _str32(self.message)

    @classmethod
    def decode(cls, r: _Reader) -> "ErrorReply":
        return cls(r.u16("error code"), r.str16("error name"), r.str32("error message"))


@dataclass
class TransientMapRequest(MapRequest):
    """MAP_TRANSIENT: a MAP payload, answered but neither remembered nor logged by the server."""
    TYPE = MAP_TRANSIENT


@dataclass
class TransientMapResult(MapResult):
    """The reply to MAP_TRANSIENT: a MAP reply payload."""
    TYPE = MAP_TRANSIENT_REPLY


@dataclass
class ForgetRequest:
    batch: str
    TYPE = FORGET

    def encode(self) -> bytes:
        return _str16(self.batch)

    @classmethod
    def decode(cls, r: _Reader) -> "ForgetRequest":
        batch = r.str16("batch label")
        if not batch:
            raise ProtocolError("MALFORMED", "the FORGET batch label is empty")
        return cls(batch)


@dataclass
class ForgetResult:
    cells_forgotten: int
    TYPE = FORGET_REPLY

    def encode(self) -> bytes:
        return struct.pack("<Q", self.cells_forgotten)

    @classmethod
    def decode(cls, r: _Reader) -> "ForgetResult":
        return cls(r.u64("cells forgotten"))


@dataclass
class ExpressionMapRequest:
    """MAP_EXPRESSION (version 3): n cells of one batch as CSR rows over the reference's G genes (INFO lists
    them), each cell's library total over ALL of its genes, and which reference genes the query measures."""
    batch: str
    n_genes: int
    kind: int                # COUNTS or LOG_NORMALIZED
    present: np.ndarray      # (G,) bool
    totals: np.ndarray       # (n,) float64
    indptr: np.ndarray       # (n + 1,) uint32
    indices: np.ndarray      # (nnz,) uint32
    data: np.ndarray         # (nnz,) float32
    cell_ids: Optional[List[str]] = None
    TYPE = MAP_EXPRESSION

    def encode(self) -> bytes:
        n = len(self.totals)
        if len(self.indptr) != n + 1 or len(self.indices) != len(self.data) or len(self.present) != self.n_genes:
            raise ValueError("MAP_EXPRESSION arrays disagree")
        if self.cell_ids is not None and len(self.cell_ids) != n:
            raise ValueError(f"{len(self.cell_ids)} cell ids for {n} cells")
        if not self.batch:
            raise ValueError("the batch label must not be empty")
        bitmap = np.packbits(np.asarray(self.present, dtype=bool), bitorder="little")
        out = (_str16(self.batch) + struct.pack("<IIBB", n, self.n_genes, self.kind, 0 if self.cell_ids is None else 1)
               + bitmap.tobytes() + np.ascontiguousarray(self.totals, dtype="<f8").tobytes()
               + np.ascontiguousarray(self.indptr, dtype="<u4").tobytes()
               + np.ascontiguousarray(self.indices, dtype="<u4").tobytes() + _f32(self.data))
        if self.cell_ids is not None:
            out += b"".join(_str16(str(i)) for i in self.cell_ids)
        return out

    @classmethod
    def decode(cls, r: _Reader) -> "ExpressionMapRequest":
        batch = r.str16("batch label")
        if not batch or len(batch.encode("utf-8")) > 1024:
            raise ProtocolError("MALFORMED", "the MAP_EXPRESSION batch label is empty or longer than 1024 bytes")
        n, genes, kind = r.u32("cell count"), r.u32("gene count"), r.u8("value kind")
        if kind not in (COUNTS, LOG_NORMALIZED):
            raise ProtocolError("MALFORMED", f"the value kind must be 0 or 1, got {kind}")
        has_ids = r.boolean("has-ids flag")
        if n < 1 or genes < 1:
            raise ProtocolError("BAD_DIMENSION", f"a MAP_EXPRESSION needs a cell and a gene, got {n} x {genes}")
        size = (genes + 7) // 8
        if size > r.remaining() or n > (r.remaining() - size) // 12:
            raise ProtocolError("BAD_DIMENSION", f"{n} cells over {genes} genes do not fit the payload")
        bitmap = np.frombuffer(r.take(size, "bitmap"), dtype=np.uint8)
        if genes % 8 and bitmap[-1] >> (genes % 8):
            raise ProtocolError("MALFORMED", "the present-gene bitmap sets bits beyond the last gene")
        present = np.unpackbits(bitmap, bitorder="little")[:genes].astype(bool)
        totals = r.array("<f8", n, "library totals")
        indptr = r.array("<u4", n + 1, "row starts")
        nnz = int(indptr[-1])
        if nnz > r.remaining() // 8:
            raise ProtocolError("BAD_DIMENSION", f"{nnz} stored values do not fit the payload")
        indices, data = r.array("<u4", nnz, "column indices"), r.array("<f4", nnz, "values")
        ids = r.strings16(n, "cell ids") if has_ids else None
        message = cls(batch, genes, kind, present, totals, indptr, indices, data, ids)
        message.validate()
        return message

    def validate(self) -> None:
        """The server's checks, in its order: row starts, indices, values, totals (ProtocolError)."""
        n, indptr, indices, data = len(self.totals), self.indptr.astype(np.int64), self.indices, self.data
        if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
            raise ProtocolError("MALFORMED", "row starts must begin at 0, never decrease and end at nnz")
        if np.any(indices >= self.n_genes):
            raise ProtocolError("BAD_DIMENSION", f"a gene index is not below G = {self.n_genes}")
        rows = np.repeat(np.arange(n), np.diff(indptr))
        step = np.diff(indices.astype(np.int64))
        if np.any((step <= 0) & (rows[1:] == rows[:-1])):
            raise ProtocolError("MALFORMED", "gene indices must increase strictly within a cell")
        if not np.all(np.isfinite(data)):
            raise ProtocolError("NON_FINITE", "a value is not finite")
        if np.any(data < 0):
            raise ProtocolError("BAD_VALUE", "a value is negative")
        if self.kind == COUNTS and np.any(data != np.round(data)):
            raise ProtocolError("BAD_VALUE", "a count is not an integer")
        if not np.all(np.asarray(self.present, dtype=bool)[indices]):
            raise ProtocolError("BAD_VALUE", "a value lies on a gene marked absent")
        if not np.all(np.isfinite(self.totals)):
            raise ProtocolError("NON_FINITE", "a library total is not finite")
        if self.kind == COUNTS:
            sums = np.bincount(rows, weights=data.astype(np.float64), minlength=n)
            if np.any(self.totals <= 0) or np.any(self.totals < sums):
                raise ProtocolError("BAD_VALUE", "a library total is not positive or is below the cell's counts")
        elif np.any(self.totals < 0):
            raise ProtocolError("BAD_VALUE", "a library total is negative")


@dataclass
class TransientExpressionMapRequest(ExpressionMapRequest):
    """MAP_EXPRESSION_TRANSIENT: a MAP_EXPRESSION payload, answered but neither remembered nor logged."""
    TYPE = MAP_EXPRESSION_TRANSIENT


@dataclass
class ExpressionMapResult(MapResult):
    """The reply to MAP_EXPRESSION: a version-3 MAP reply payload."""
    TYPE = MAP_EXPRESSION_REPLY


@dataclass
class TransientExpressionMapResult(MapResult):
    """The reply to MAP_EXPRESSION_TRANSIENT: a version-3 MAP reply payload."""
    TYPE = MAP_EXPRESSION_TRANSIENT_REPLY


class _Empty:
    """Decoder for the empty INFO, STATS and REFIT request payloads."""

    def __init__(self, type_byte: int):
        self.type_byte = type_byte

    def decode(self, r: _Reader) -> EmptyRequest:
        return EmptyRequest(self.type_byte)


DECODERS = {
    HELLO: HelloRequest, INFO: _Empty(INFO), MAP: MapRequest, STATS: _Empty(STATS), REFIT: _Empty(REFIT),
    EXPORT: ExportRequest, HELLO_REPLY: HelloReply, INFO_REPLY: Info, MAP_REPLY: MapResult, STATS_REPLY: Stats,
    REFIT_REPLY: RefitResult, EXPORT_REPLY: ExportResult, ERROR: ErrorReply,
    FORGET: ForgetRequest, MAP_TRANSIENT: TransientMapRequest, FORGET_REPLY: ForgetResult,
    MAP_TRANSIENT_REPLY: TransientMapResult, MAP_EXPRESSION: ExpressionMapRequest,
    MAP_EXPRESSION_TRANSIENT: TransientExpressionMapRequest, MAP_EXPRESSION_REPLY: ExpressionMapResult,
    MAP_EXPRESSION_TRANSIENT_REPLY: TransientExpressionMapResult,
}

# ---------------------------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Frame:
    type: int
    request_id: int
    payload: bytes
    version: int = MIN_VERSION
    flags: int = 0


def introduced_in(type_byte: int) -> int:
    """The first protocol version that defines a message type."""
    return 3 if type_byte in VERSION_3_TYPES else 2 if type_byte in VERSION_2_TYPES else 1


def encode_frame(message, request_id: int, version: Optional[int] = None) -> bytes:
    """Header + payload bytes of `message` (any message dataclass above), in `version` (default: the first
    version that defines the message's type)."""
    version = introduced_in(message.TYPE) if version is None else version
    payload = message.encode(version) if getattr(message, "VERSIONED", False) else message.encode()
    return HEADER.pack(MAGIC, version, message.TYPE, 0, request_id, len(payload)) + payload


def decode_message(frame: Frame):
    """The message dataclass a frame carries; raises ProtocolError (UNKNOWN_TYPE, MALFORMED, ...)."""
    if frame.flags:
        raise ProtocolError("MALFORMED", f"flags 0x{frame.flags:x} are set; no version defines any")
    decoder = DECODERS.get(frame.type)
    if decoder is None or introduced_in(frame.type) > frame.version:
        raise ProtocolError("UNKNOWN_TYPE", f"message type 0x{frame.type:02x} is unknown")
    r = _Reader(frame.payload)
    message = decoder.decode(r, frame.version) if getattr(decoder, "VERSIONED", False) else decoder.decode(r)
    r.finish(f"the payload of type 0x{frame.type:02x}")
    return message


class FrameDecoder:
    """Splits a byte stream into frames; feed bytes in any split, then call next_frame() until it returns None."""

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD):
        self.max_payload = max_payload
        self.buffer = bytearray()
        self.error: Optional[ProtocolError] = None

    def feed(self, data: bytes) -> None:
        if self.error is None:
            self.buffer += data

    def next_frame(self) -> Optional[Frame]:
        if self.error is not None:
            raise self.error
        head = bytes(self.buffer[:4])
        if head != MAGIC[:len(head)]:
            return self._fail(ProtocolError("BAD_MAGIC", f"the frame does not start with HMNY (got {head.hex()})"))
        if len(self.buffer) < HEADER_SIZE:
            return None
        _, version, type_byte, flags, request_id, length = HEADER.unpack_from(self.buffer)
        if not MIN_VERSION <= version <= VERSION:
            return self._fail(ProtocolError("UNSUPPORTED_VERSION", f"protocol version {version} is not supported"))
        if length > self.max_payload:
            return self._fail(ProtocolError("FRAME_TOO_LARGE",
                                            f"the payload length {length} exceeds the limit of {self.max_payload}"))
        if len(self.buffer) < HEADER_SIZE + length:
            return None
        payload = bytes(self.buffer[HEADER_SIZE:HEADER_SIZE + length])
        del self.buffer[:HEADER_SIZE + length]
        return Frame(type_byte, request_id, payload, version, flags)

    def _fail(self, error: ProtocolError):
        self.error = error
        self.buffer.clear()
        raise error


# ---------------------------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------------------------

class HarmonyClient:
    """A blocking harmonyd client over a Unix socket. Not thread-safe: use one client per thread."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.decoder = FrameDecoder(MAX_REPLY_PAYLOAD)
        self.next_id = 1
        self.version = MIN_VERSION  # until hello() negotiates

    @classmethod
    def connect(cls, path: str, timeout: Optional[float] = 600.0) -> "HarmonyClient":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "HarmonyClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------------------------

    def hello(self, client_name: str = "harmony-python") -> HelloReply:
        reply = self._round_trip(HelloRequest(client_name), HelloReply)
        if not MIN_VERSION <= reply.version <= VERSION:
            raise ProtocolError("UNSUPPORTED_VERSION", f"the server chose version {reply.version}")
        self.version = reply.version
        return reply

    def info(self) -> Info:
        return self._round_trip(EmptyRequest(INFO), Info)

    def stats(self) -> Stats:
        return self._round_trip(EmptyRequest(STATS), Stats)

    def refit(self) -> RefitResult:
        return self._round_trip(EmptyRequest(REFIT), RefitResult)

    def export(self, batch: str) -> ExportResult:
        return self._round_trip(ExportRequest(batch), ExportResult)

    def map(self, batch: str, cells, ids: Optional[Sequence[str]] = None) -> MapResult:
        return self._round_trip(MapRequest(batch, cells, None if ids is None else list(ids)), MapResult)

    def map_transient(self, batch: str, cells, ids: Optional[Sequence[str]] = None) -> MapResult:
        """The answer a MAP of these cells would get now; the server keeps and logs nothing (version 2)."""
        self._need_version_2("MAP_TRANSIENT")
        return self._round_trip(TransientMapRequest(batch, cells, None if ids is None else list(ids)),
                                TransientMapResult)

    def forget(self, batch: str) -> int:
        """Drops every cell of `batch` durably; returns how many the server held (version 2)."""
        self._need_version_2("FORGET")
        return self._round_trip(ForgetRequest(batch), ForgetResult).cells_forgotten

    def map_expression(self, request: ExpressionMapRequest, transient: bool = False) -> MapResult:
        """Maps cells given as sparse expression over the reference's genes (version 3); `transient` sends
        MAP_EXPRESSION_TRANSIENT (answered, neither remembered nor logged)."""
        self._need_version("MAP_EXPRESSION", 3)
        if transient:
            message = TransientExpressionMapRequest(**{k: getattr(request, k) for k in vars(request)})
            return self._round_trip(message, TransientExpressionMapResult)
        return self._round_trip(request, ExpressionMapResult)

    def _need_version_2(self, what: str) -> None:
        self._need_version(what, 2)

    def _need_version(self, what: str, version: int) -> None:
        if self.version < version:
            raise ProtocolError("UNSUPPORTED_VERSION", f"{what} needs protocol version {version}: call hello() "
                                                       f"first (this connection speaks version {self.version})")

    def map_many(self, requests: Iterable[MapRequest], window: int = 4,
                 on_reply: Optional[Callable[[int, MapResult], None]] = None) -> List[MapResult]:
        """Sends MAP (or MAP_EXPRESSION, or their transient forms) requests with up to `window` in flight; replies
        come back in request order. On a server error (or an exception from `on_reply`) no further request is
        sent, the replies due are drained so that the connection stays usable, and the first error is raised."""
        pending = list(requests)
        results: List[MapResult] = []
        in_flight: List[int] = []
        first_error = None
        index = 0
        while index < len(pending) or in_flight:
            while first_error is None and index < len(pending) and len(in_flight) < window:
                in_flight.append(self._send(pending[index]))
                index += 1
            request_id = in_flight.pop(0)
            try:
                reply = self._receive(request_id, MapResult)
            except ServerError as error:
                first_error = first_error or error
                reply = None
            if first_error is None:
                results.append(reply)
                if on_reply is not None:
                    try:
                        on_reply(len(results) - 1, reply)
                    except Exception as error:  # drain the replies due, then re-raise
                        first_error = error
            if first_error is not None and not in_flight:
                break
        if first_error is not None:
            raise first_error
        return results

    # -- frames -----------------------------------------------------------------------------------------------

    def _round_trip(self, request, reply_type):
        return self._receive(self._send(request), reply_type)

    def _send(self, request) -> int:
        request_id = self.next_id
        self.next_id = 1 if self.next_id == 0xFFFFFFFF else self.next_id + 1
        self.sock.sendall(encode_frame(request, request_id, self.version))
        return request_id

    def _receive(self, request_id: int, reply_type):
        frame = self._next_frame()
        is_error = frame.type == ERROR
        if frame.request_id != request_id and not (is_error and frame.request_id == 0):
            raise ProtocolError("MALFORMED", f"expected the reply to request {request_id}, got {frame.request_id}")
        message = decode_message(frame)
        if is_error:
            raise ServerError(message.code, message.name, message.message, frame.request_id)
        if not isinstance(message, reply_type):
            raise ProtocolError("MALFORMED", f"expected a {reply_type.__name__}, got type 0x{frame.type:02x}")
        return message

    def _next_frame(self) -> Frame:
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                return frame
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("the server closed the connection before replying")
            self.decoder.feed(data)


# ---------------------------------------------------------------------------------------------------------------
# AnnData
# ---------------------------------------------------------------------------------------------------------------

def map_anndata(client: HarmonyClient, adata, batch_key: str, obsm_key: str = "X_pca", chunk_size: int = 1000,
                window: int = 4, final: bool = True):
    """Maps every cell of `adata` (an AnnData; anndata itself is not imported) through the daemon.

    Stores the corrected embedding in `adata.obsm[obsm_key + "_harmony"]` (final corrections from EXPORT when
    `final`, else the immediate ones) and `harmony_cluster`, `harmony_cluster_probability`, `harmony_label`
    (None when the reference has no labels) and `harmony_label_confidence` in `adata.obs`. Returns `adata`.
    """
    cells = np.asarray(adata.obsm[obsm_key], dtype=np.float32)
    ids = [str(i) for i in adata.obs_names]
    batches = [str(b) for b in adata.obs[batch_key]]
    info = client.info()
    if cells.shape[1] != info.dimensions:
        raise ValueError(f"obsm['{obsm_key}'] has {cells.shape[1]} dimensions, the daemon's model has "
                         f"{info.dimensions}")
    chunk_size = max(1, min(chunk_size, info.max_cells_per_map or chunk_size))
    order = list(dict.fromkeys(batches))
    rows_of = {b: np.flatnonzero(np.asarray(batches) == b) for b in order}
    chunks = [(b, rows_of[b][i:i + chunk_size]) for b in order for i in range(0, len(rows_of[b]), chunk_size)]
    n = cells.shape[0]
    corrected = np.zeros_like(cells)
    cluster = np.zeros(n, dtype=np.uint32)
    probability = np.zeros(n, dtype=np.float32)
    label = np.full(n, -1, dtype=np.int32)
    confidence = np.zeros(n, dtype=np.float32)

    def scatter(k: int, reply: MapResult) -> None:
        rows = chunks[k][1]
        corrected[rows] = reply.corrected
        cluster[rows], probability[rows] = reply.top_cluster, reply.top_probability
        label[rows], confidence[rows] = reply.predicted_label, reply.label_confidence

    requests = [MapRequest(b, cells[rows], [ids[r] for r in rows]) for b, rows in chunks]
    client.map_many(requests, window=window, on_reply=scatter)
    if final:
        for b in order:
            export = client.export(b)
            position = {cell_id: k for k, cell_id in enumerate(export.cell_ids)}
            rows = rows_of[b]
            missing = [ids[r] for r in rows if ids[r] not in position]
            if missing:
                raise ProtocolError("MALFORMED", f"EXPORT of '{b}' lacks cell '{missing[0]}'")
            corrected[rows] = export.corrected[[position[ids[r]] for r in rows]]
    adata.obsm[obsm_key + "_harmony"] = corrected
    adata.obs["harmony_cluster"] = cluster
    adata.obs["harmony_cluster_probability"] = probability
    adata.obs["harmony_label"] = [info.labels[i] if 0 <= i < len(info.labels) else None for i in label]
    adata.obs["harmony_label_confidence"] = confidence
    return adata


# ---------------------------------------------------------------------------------------------------------------
# Expression (protocol version 3)
# ---------------------------------------------------------------------------------------------------------------

def match_genes(reference, query_ids: Sequence[str], query_names: Sequence[str]):
    """For each query gene the reference gene it feeds (or -1), and which reference genes the query measures:
    first by id, then, for reference genes still unmatched, by a name that exactly one unmatched reference gene
    and exactly one unused query gene carry (an ambiguous name matches nothing). A reference gene fed twice is a
    ValueError. The same rule as `harmony map` and `harmony client map`. `reference` is INFO's (id, name) list."""
    to_reference = np.full(len(query_ids), -1, dtype=np.int64)
    feeder = np.full(len(reference), -1, dtype=np.int64)

    def claim(q, r):
        if feeder[r] >= 0:
            raise ValueError(f"the reference gene {reference[r][1]} ({reference[r][0]}) appears twice in the query "
                             f"(genes {feeder[r] + 1} and {q + 1}); remove the duplicate")
        feeder[r], to_reference[q] = q, r

    by_id = {gene_id: r for r, (gene_id, _) in enumerate(reference)}
    for q, gene_id in enumerate(query_ids):
        if gene_id in by_id:
            claim(q, by_id[gene_id])
    reference_by_name = {}
    for r, (_, name) in enumerate(reference):
        if feeder[r] < 0:
            reference_by_name[name] = r if name not in reference_by_name else -2
    query_by_name = {}
    for q, name in enumerate(query_names):
        if to_reference[q] < 0 and name in reference_by_name:
            r = reference_by_name[name]
            if name in query_by_name and r >= 0:
                raise ValueError(f"the reference gene {name} appears twice in the query (genes "
                                 f"{query_by_name[name] + 1} and {q + 1}); remove the duplicate")
            query_by_name[name] = q
    for name, q in query_by_name.items():
        r = reference_by_name[name]
        if r >= 0:
            claim(q, r)
    return to_reference, feeder >= 0


def reference_rows(matrix, to_reference: np.ndarray, counts: bool):
    """The cells of `matrix` (cells x query genes; dense or scipy sparse) as CSR arrays over the reference's genes
    (indptr, indices, data in the reference's gene order) and each cell's total over ALL of its genes. Raises
    ValueError for a non-finite value, negative or non-integer counts, or an empty cell."""
    import scipy.sparse as sp
    csr = sp.csr_matrix(matrix, dtype=np.float32) if not sp.issparse(matrix) else matrix.tocsr().astype(np.float32)
    csr.sum_duplicates()
    data = csr.data
    if not np.all(np.isfinite(data)):
        raise ValueError("the matrix holds a non-finite value")
    if counts and (np.any(data < 0) or np.any(data != np.round(data))):
        raise ValueError("counts must be non-negative integers (log-normalized input needs a reference built from "
                         "log-normalized values)")
    totals = np.asarray(csr.sum(axis=1, dtype=np.float64)).ravel()
    empty = np.flatnonzero((np.diff(csr.indptr) == 0) | ((totals == 0) if counts else False))
    if len(empty):
        raise ValueError(f"cell {empty[0] + 1} is empty (no counts); remove empty cells first")
    matched = np.flatnonzero(to_reference >= 0)
    order = matched[np.argsort(to_reference[matched], kind="stable")]
    sub = csr[:, order].tocsr()
    sub.sort_indices()
    indices = to_reference[order][sub.indices].astype(np.uint32)
    return sub.indptr.astype(np.uint32), indices, sub.data.astype(np.float32), totals


def map_expression_rows(client: HarmonyClient, batches: Sequence[str], ids: Sequence[str], rows, present,
                        kind: int, chunk_size: int = 1000, window: int = 4, transient: bool = False):
    """Sends CSR rows over the reference genes (`rows` = (indptr, indices, data, totals)) as MAP_EXPRESSION (or
    MAP_EXPRESSION_TRANSIENT) requests of at most `chunk_size` cells of one batch, `window` in flight. Returns
    the per-cell answers in input order: corrected (n, d), cluster, probability, label, confidence, distance."""
    indptr, indices, data, totals = rows
    batches = np.asarray([str(b) for b in batches])
    order = list(dict.fromkeys(batches.tolist()))
    chunks = []
    for b in order:
        members = np.flatnonzero(batches == b)
        chunks += [(b, members[i:i + chunk_size]) for i in range(0, len(members), chunk_size)]
    requests = []
    request_type = TransientExpressionMapRequest if transient else ExpressionMapRequest
    for b, members in chunks:
        starts, stops = indptr[members].astype(np.int64), indptr[members + 1].astype(np.int64)
        take = np.concatenate([np.arange(a, z) for a, z in zip(starts, stops)]) if len(members) else np.zeros(0, int)
        sub_indptr = np.concatenate([[0], np.cumsum(stops - starts)]).astype(np.uint32)
        requests.append(request_type(b, len(present), kind, present, totals[members], sub_indptr,
                                     indices[take.astype(np.int64)], data[take.astype(np.int64)],
                                     [ids[i] for i in members]))
    n = len(ids)
    out = {"corrected": None, "cluster": np.zeros(n, np.uint32), "probability": np.zeros(n, np.float32),
           "label": np.full(n, -1, np.int32), "confidence": np.zeros(n, np.float32),
           "distance": np.full(n, NO_MAPPING_DISTANCE, np.float32)}

    def scatter(k: int, reply: MapResult) -> None:
        members = chunks[k][1]
        if out["corrected"] is None:
            out["corrected"] = np.zeros((n, reply.corrected.shape[1]), np.float32)
        out["corrected"][members] = reply.corrected
        out["cluster"][members], out["probability"][members] = reply.top_cluster, reply.top_probability
        out["label"][members], out["confidence"][members] = reply.predicted_label, reply.label_confidence
        out["distance"][members] = reply.mapping_distance

    client.map_many(requests, window=window, on_reply=scatter)
    return out
