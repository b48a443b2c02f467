"""The worked example in Protocols/harmonyd-protocol.md shows exactly the golden MAP frames."""

import os
import re

from samples import REPO, golden

DOC = os.path.join(REPO, "Protocols", "harmonyd-protocol.md")


def example_blocks(heading="\n## Worked example"):
    with open(DOC) as fh:
        text = fh.read()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    out = []
    for block in blocks:
        data = bytearray()
        for line in block.splitlines():
            for token in line.split():
                if not re.fullmatch(r"[0-9a-f]{2}", token):
                    break
                data.append(int(token, 16))
        out.append(bytes(data))
    return out


def test_worked_example_bytes_equal_the_golden_vectors():
    request, reply = example_blocks()
    assert request == golden("map")
    assert reply == golden("map_reply")


def test_map_expression_example_bytes_equal_the_golden_vector():
    (request,) = example_blocks("\n### MAP_EXPRESSION, byte by byte")
    assert request == golden("map_expression")
