"""A stand-in for harmonyd used to test the clients: it speaks protocol version 1 with simple, predictable
numerics. A MAP reply's corrections are `cells - 1`; an EXPORT's are each cell minus the mean of every cell of
its batch (so they depend on the whole batch, like the real final corrections); cluster k % 4, probability
0.5, label k % 2 with confidence 0.75 for the k-th cell of a request."""

import os
import socket
import struct
import threading

import numpy as np

from harmony_swift import harmony_client as hc

D, K, LABELS, MAX_CELLS = 3, 4, ["T", "B"], 50


class FakeHarmonyd:
    def __init__(self, path):
        self.path = path
        self.cells = {}   # batch -> list of (id, row)
        self.lock = threading.Lock()
        self.refit_running = False
        self.requests = 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self.listener.bind(path)
        self.listener.listen(8)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        self.listener.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        decoder = hc.FrameDecoder()
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 16)
                except OSError:
                    return
                if not data:
                    return
                decoder.feed(data)
                try:
                    while (frame := decoder.next_frame()) is not None:
                        conn.sendall(self._answer(frame))
                except hc.ProtocolError as error:   # framing lost: one ERROR, then close
                    conn.sendall(hc.encode_frame(hc.ErrorReply(error.code, error.name, error.message), 0))
                    return

    def _answer(self, frame):
        with self.lock:
            self.requests += 1
        try:
            request = hc.decode_message(frame)
            reply = self._handle(frame.type, request)
        except hc.ProtocolError as error:
            reply = hc.ErrorReply(error.code, error.name, error.message)
        return hc.encode_frame(reply, frame.request_id)

    def _handle(self, type_byte, request):
        if type_byte == hc.HELLO:
            return hc.HelloReply(1, "fake-harmonyd")
        if type_byte == hc.INFO:
            return hc.Info(1, D, K, 100, 64 << 20, MAX_CELLS, 8, ["r1", "r2"], LABELS)
        if type_byte == hc.MAP:
            n, d = request.cells.shape
            if d != D:
                raise hc.ProtocolError("BAD_DIMENSION", f"expected d = {D}, got {d}")
            if n > MAX_CELLS:
                raise hc.ProtocolError("TOO_MANY_CELLS", f"{n} cells, at most {MAX_CELLS}")
            with self.lock:
                stored = self.cells.setdefault(request.batch, [])
                ids = request.cell_ids or [f"{request.batch}#{len(stored) + k}" for k in range(n)]
                stored.extend(zip(ids, request.cells))
            k = np.arange(n)
            return hc.MapResult(1, request.cells - 1, (k % K).astype(np.uint32), np.full(n, 0.5, np.float32),
                                (k % 2).astype(np.int32), np.full(n, 0.75, np.float32))
        if type_byte == hc.EXPORT:
            with self.lock:
                stored = list(self.cells.get(request.batch, []))
            if not stored:
                raise hc.ProtocolError("UNKNOWN_BATCH", f"no cells of batch '{request.batch}'")
            rows = np.array([row for _, row in stored], dtype=np.float32)
            return hc.ExportResult(1, rows - rows.mean(axis=0), [i for i, _ in stored])
        if type_byte == hc.STATS:
            with self.lock:
                counts = {b: len(v) for b, v in sorted(self.cells.items())}
            return hc.Stats(1, 5, sum(counts.values()), sum(counts.values()), self.requests, 0, 0, 1,
                            self.refit_running, {"p50": 10, "p90": 20, "p99": 30, "p999": 40}, counts)
        if type_byte == hc.REFIT:
            if self.refit_running:
                raise hc.ProtocolError("REFIT_IN_PROGRESS", "a refit is already running")
            self.refit_running = True
            return hc.RefitResult(True, 1, "refit started")
        raise hc.ProtocolError("UNKNOWN_TYPE", f"type 0x{type_byte:02x} is not a request")
