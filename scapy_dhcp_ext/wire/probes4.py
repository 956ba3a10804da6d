"""Liveness probes of a device at an IPv4 address: an ARP request or an ICMP
echo, built with what answers it. Pure: the caller sends the frame (a
transport's ``probe()``) and gives the matcher the frames that come back.

    >>> frame, answers = probe_frame("arp", src_mac=mac, src_ip="10.77.0.1", target="10.77.0.23")
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

from .layout import (
    ARP_REQUEST,
    BROADCAST_MAC,
    arp_frame,
    icmp_echo_frame,
    ip_bytes,
    is_arp_reply_from,
    is_icmp_echo_reply,
)


def probe_frame(how: str, *, src_mac: bytes, src_ip: str, target: str, dst_mac: bytes = BROADCAST_MAC,
                ident: int | None = None) -> tuple[bytes, Callable[[Any], bool]]:
    """(frame, answers): ``how`` is ``"arp"`` (who has ``target``?) or ``"icmp"`` (an
    echo to it through ``dst_mac``); ``answers(f)`` takes a parsed frame (``f.raw``)."""
    if how == "arp":
        address = ip_bytes(target)
        request = arp_frame(ARP_REQUEST, sha=src_mac, spa=ip_bytes(src_ip), tha=bytes(6), tpa=address)
        return request, lambda f: is_arp_reply_from(f.raw, address)
    ident = secrets.randbits(16) if ident is None else ident
    echo = icmp_echo_frame(src_mac=src_mac, dst_mac=dst_mac, src=src_ip, dst=target, ident=ident)
    return echo, lambda f: is_icmp_echo_reply(f.raw, ident)
