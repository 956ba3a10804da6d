"""Frames the client checks send that no server would: an OFFER moved to another
address, xid or chaddr, and a NAK from a server the client did not select."""

from __future__ import annotations

from ..wire import (
    FRAME_CHADDR,
    FRAME_OPTIONS,
    FRAME_XID,
    FRAME_YIADDR,
    IP_SRC,
    ip_bytes,
    iter_options,
    mac_bytes,
    patch_checksums,
)

ELSEWHERE_MAC = "02:00:5e:00:0b:ad"


def rewrite(raw: bytes, *, yiaddr: str, xid: int | None = None, chaddr: bytes | None = None) -> bytes:
    """A reply of ours for another address (and xid, and chaddr: sent to that MAC too)."""
    out = bytearray(raw)
    out[FRAME_YIADDR:FRAME_YIADDR + 4] = ip_bytes(yiaddr)
    if xid is not None:
        out[FRAME_XID:FRAME_XID + 4] = xid.to_bytes(4, "big")
    if chaddr is not None:
        out[FRAME_CHADDR:FRAME_CHADDR + 6] = chaddr
        if out[0:6] != b"\xff" * 6:
            out[0:6] = chaddr
    patch_checksums(out)
    return bytes(out)


def from_elsewhere(nak: bytes, server_ip: str) -> bytes:
    """Our NAK as another server's: its MAC, IP source and option 54."""
    out = bytearray(nak)
    out[6:12] = mac_bytes(ELSEWHERE_MAC)
    out[IP_SRC:IP_SRC + 4] = ip_bytes(server_ip)
    at = next(at for at, code, _p in iter_options(bytes(out), FRAME_OPTIONS) if code == 54)
    out[at + 2:at + 6] = ip_bytes(server_ip)
    patch_checksums(out)
    return bytes(out)


__all__ = ["from_elsewhere", "rewrite"]
