"""What the DHCPv6 client checks read off the client's messages (see :mod:`.client_checks6`)."""

from __future__ import annotations

import struct
from typing import Any

from ..wire.dhcp6 import ALL_SERVERS, CLIENT_PORT6, ELAPSED_TIME, ORO, SERVER_PORT6
from ..wire.frames6 import Frame6
from .client_probe6 import ClientProbe6

SLACK = 0.25   # seconds a reading may be late by on a busy machine


def elapsed(f: Frame6) -> int | None:
    p = f.msg.first(ELAPSED_TIME) if f.msg is not None else None
    return struct.unpack("!H", p)[0] if p is not None and len(p) == 2 else None


def oro(f: Frame6) -> set[int]:
    p = (f.msg.first(ORO) if f.msg is not None else None) or b""
    return {struct.unpack_from("!H", p, i)[0] for i in range(0, len(p) - 1, 2)}


def multicast(f: Frame6) -> str:
    """Why ``f`` is not a client's message to All_DHCP_Relay_Agents_and_Servers from port 546, or ""."""
    if f.ip_dst != ALL_SERVERS:
        return f"sent to {f.ip_dst}, not {ALL_SERVERS}"
    if (f.sport, f.dport) != (CLIENT_PORT6, SERVER_PORT6):
        return f"from port {f.sport} to {f.dport}, not 546 to 547"
    if not (f.ip_src or "").startswith("fe80:"):
        return f"from {f.ip_src}, not a link-local address"
    return ""


def solicits(t: ClientProbe6) -> list[Frame6]:
    got: list[Frame6] = t.phase("solicit").facts["solicits"]
    t.cite(*got)
    return got


def bind(t: ClientProbe6) -> dict[str, Any]:
    facts: dict[str, Any] = t.phase("bind").facts
    t.cite(facts["request"])
    return facts


def seen_second(got: list[Frame6]) -> bool:
    """Whether the first SOLICIT seen is the client's second: its elapsed time says IRT (1.0 to 1.1 s)
    and the next one came twice that later. A client that sends before its link-local address is
    usable (dhcp6c with DAD on) loses its first in its own kernel; the wire never sees it."""
    e0 = elapsed(got[0])
    if e0 is None or not 1.0 - SLACK <= e0 / 100 <= 1.1 + SLACK:
        return False
    gap = got[1].time - got[0].time if len(got) > 1 else None
    return gap is None or 1.9 * e0 / 100 - SLACK <= gap <= 2.1 * e0 / 100 + SLACK


def gap_readings(got: list[Frame6]) -> list[tuple[str, list[float]]]:
    """The gaps between the SOLICITs, as read on the wire and, when every one carries it, as the
    client's own elapsed time says (immune to a busy machine's late reads; the wire keeps it
    honest: each of its gaps within half a second of the client's)."""
    wire = [b.time - a.time for a, b in zip(got, got[1:])]
    readings = [("on the wire", wire)]
    own = [elapsed(f) for f in got]
    if all(e is not None for e in own):
        claimed = [((b or 0) - (a or 0)) / 100 for a, b in zip(own, own[1:])]
        if all(abs(c - w) <= 0.5 for c, w in zip(claimed, wire)):
            readings.append(("by its elapsed time", claimed))
    return readings
