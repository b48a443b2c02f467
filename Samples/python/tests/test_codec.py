import random
import struct

import numpy as np
import pytest

from harmony_swift import harmony_client as hc
from samples import SAMPLES, VERSIONS, golden, same


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_encoder_produces_the_golden_frame(name):
    request_id, message = SAMPLES[name]
    assert hc.encode_frame(message, request_id, VERSIONS.get(name)) == golden(name)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_frame_decodes_to_the_sample(name):
    request_id, message = SAMPLES[name]
    decoder = hc.FrameDecoder()
    decoder.feed(golden(name))
    frame = decoder.next_frame()
    assert frame.request_id == request_id and frame.type == message.TYPE
    assert same(hc.decode_message(frame), message)
    assert decoder.next_frame() is None


def stream():
    return b"".join(golden(name) for name in sorted(SAMPLES))


def test_one_byte_at_a_time_equals_all_at_once():
    whole = hc.FrameDecoder()
    whole.feed(stream())
    expected = []
    while (frame := whole.next_frame()) is not None:
        expected.append(frame)
    assert len(expected) == len(SAMPLES)
    trickle = hc.FrameDecoder()
    got = []
    for byte in stream():
        trickle.feed(bytes([byte]))
        while (frame := trickle.next_frame()) is not None:
            got.append(frame)
    assert got == expected


def test_framing_errors():
    decoder = hc.FrameDecoder()
    decoder.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(hc.ProtocolError) as err:
        decoder.next_frame()
    assert err.value.name == "BAD_MAGIC"
    for version in (0, 4):
        decoder = hc.FrameDecoder()
        decoder.feed(hc.HEADER.pack(hc.MAGIC, version, hc.INFO, 0, 1, 0))
        with pytest.raises(hc.ProtocolError) as err:
            decoder.next_frame()
        assert err.value.name == "UNSUPPORTED_VERSION"
    decoder = hc.FrameDecoder(max_payload=1024)
    decoder.feed(hc.HEADER.pack(hc.MAGIC, 1, hc.MAP, 0, 1, 1025))  # no payload byte needed to refuse it
    with pytest.raises(hc.ProtocolError) as err:
        decoder.next_frame()
    assert err.value.name == "FRAME_TOO_LARGE"


def test_truncated_frame_needs_more():
    frame = golden("map")
    for cut in (0, 3, 15, 16, 20, len(frame) - 1):
        decoder = hc.FrameDecoder()
        decoder.feed(frame[:cut])
        assert decoder.next_frame() is None
        decoder.feed(frame[cut:])
        assert decoder.next_frame() is not None


def decode_payload(type_byte, payload):
    return hc.decode_message(hc.Frame(type_byte, 1, bytes(payload)))


def test_payload_errors_have_the_documented_codes():
    payload = bytearray(SAMPLES["map"][1].encode())
    bad = bytearray(payload)
    bad[21:25] = struct.pack("<f", float("nan"))
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.MAP, bad)
    assert err.value.name == "NON_FINITE"
    bad = bytearray(payload)
    bad[4:8] = b"\xff\xff\xff\xff"
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.MAP, bad)
    assert err.value.name == "BAD_DIMENSION"
    bad = bytearray(payload)
    bad[0] = 200
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.MAP, bad)
    assert err.value.name == "MALFORMED"
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.MAP, payload + b"\x00")
    assert err.value.name == "MALFORMED"
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.MAP, hc.MapRequest("q", np.zeros((0, 3), np.float32)).encode())
    assert err.value.name == "BAD_DIMENSION"
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(0x07, b"")
    assert err.value.name == "UNKNOWN_TYPE"
    with pytest.raises(hc.ProtocolError) as err:
        decode_payload(hc.EXPORT, b"\x02\x00\xff\xfe")
    assert err.value.name == "MALFORMED"


def test_large_map_round_trips_bit_exactly():
    rng = np.random.default_rng(0)
    cells = rng.normal(size=(500, 20)).astype(np.float32)
    message = hc.MapRequest("big", cells, [f"cell-{i}" for i in range(500)])
    decoded = decode_payload(hc.MAP, message.encode())
    assert np.array_equal(decoded.cells.view(np.uint32), cells.view(np.uint32))
    assert decoded.cell_ids[-1] == "cell-499"


def test_random_bytes_never_escape_as_other_exceptions():
    rng = random.Random(7)
    outcomes = {}
    for round_ in range(3000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(64)))
        if round_ % 2 == 0:
            data = hc.MAGIC + bytes([1, rng.randrange(8)]) + b"\x00\x00" + struct.pack("<II", 1, len(data)) + data
        decoder = hc.FrameDecoder()
        decoder.feed(data)
        try:
            while (frame := decoder.next_frame()) is not None:
                try:
                    hc.decode_message(frame)
                    outcomes["message"] = outcomes.get("message", 0) + 1
                except hc.ProtocolError as error:
                    outcomes[error.name] = outcomes.get(error.name, 0) + 1
        except hc.ProtocolError as error:
            outcomes[error.name] = outcomes.get(error.name, 0) + 1
    assert outcomes.get("BAD_MAGIC", 0) > 1000
    assert outcomes.get("MALFORMED", 0) > 100


def decode_v3(type_byte, payload):
    return hc.decode_message(hc.Frame(type_byte, 1, bytes(payload), 3))


def expression_request(**changes):
    fields = dict(batch="q", n_genes=4, kind=hc.COUNTS, present=np.ones(4, dtype=bool),
                  totals=np.array([10.0, 7.0]), indptr=np.array([0, 2, 3], dtype=np.uint32),
                  indices=np.array([0, 2, 3], dtype=np.uint32), data=np.array([3, 1, 2], dtype=np.float32),
                  cell_ids=["a", "b"])
    fields.update(changes)
    return hc.ExpressionMapRequest(**fields)


@pytest.mark.parametrize("changes,name", [
    ({"indices": np.array([2, 0, 3], dtype=np.uint32)}, "MALFORMED"),
    ({"indices": np.array([0, 4, 3], dtype=np.uint32)}, "BAD_DIMENSION"),
    ({"data": np.array([3, -1, 2], dtype=np.float32)}, "BAD_VALUE"),
    ({"data": np.array([3, 1.5, 2], dtype=np.float32)}, "BAD_VALUE"),
    ({"data": np.array([3, np.nan, 2], dtype=np.float32)}, "NON_FINITE"),
    ({"totals": np.array([3.0, 7.0])}, "BAD_VALUE"),
    ({"totals": np.array([10.0, 0.0]), "indptr": np.array([0, 3, 3], dtype=np.uint32)}, "BAD_VALUE"),
    ({"present": np.array([True, True, False, True])}, "BAD_VALUE"),
])
def test_bad_expression_payloads_have_the_documented_codes(changes, name):
    with pytest.raises(hc.ProtocolError) as err:
        decode_v3(hc.MAP_EXPRESSION, expression_request(**changes).encode())
    assert err.value.name == name


def test_expression_lengths_are_checked_before_allocating():
    payload = bytearray(expression_request().encode())
    for offset in (3, 7):  # n, then G
        bad = bytearray(payload)
        bad[offset:offset + 4] = b"\xff\xff\xff\xff"
        with pytest.raises(hc.ProtocolError) as err:
            decode_v3(hc.MAP_EXPRESSION, bad)
        assert err.value.name == "BAD_DIMENSION"
    with pytest.raises(hc.ProtocolError) as err:  # MAP_EXPRESSION in a version-2 frame
        hc.decode_message(hc.Frame(hc.MAP_EXPRESSION, 1, bytes(payload), 2))
    assert err.value.name == "UNKNOWN_TYPE"


def test_genes_match_by_id_then_by_name():
    reference = [("E1", "A"), ("E2", "B"), ("E3", "C"), ("E4", "D")]
    to_reference, present = hc.match_genes(reference, ["x", "E2", "y", "E1"], ["C", "B", "Z", "A"])
    assert to_reference.tolist() == [2, 1, -1, 0]
    assert present.tolist() == [True, True, True, False]
    with pytest.raises(ValueError):
        hc.match_genes(reference, ["E1", "E1"], ["A", "A"])
