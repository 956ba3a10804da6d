"""Mutations of valid DHCP replies, for the property tests and the fuzz command."""

from __future__ import annotations

import random

from scapy_dhcp_ext.wire import ACK, DISCOVER, OFFER
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import build_message
from tests.support.fakes import reply_frame

REQUEST = parse_frame(build_message(DISCOVER, mac="02:00:00:00:00:07", xid=0x1234))
SEEDS = [reply_frame(REQUEST, OFFER), reply_frame(REQUEST, ACK),
         reply_frame(REQUEST, OFFER, options=b"\x35\x01\x02\x34\x01\x03\xff")]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip, overwrite, cut, insert, duplicate, set a length byte."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        pos = rng.randrange(len(out)) if out else 0
        if kind == 0 and out:
            out[pos] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[pos] = rng.choice([0, 1, 0x35, 0x34, 0x36, 0x52, 0x77, 0xC0, 0xFF, rng.randrange(256)])
        elif kind == 2:
            del out[pos:]
        elif kind == 3:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == 4 and out:
            end = min(len(out), pos + rng.randint(1, 60))
            out[end:end] = out[pos:end]
        elif out:
            out[pos] = rng.choice([0, 1, 2, 4, 5, 255])
    return bytes(out)
