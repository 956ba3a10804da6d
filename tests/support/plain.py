"""An independent witness on a lab link: a plain AF_PACKET socket, with Scapy
(not the project's builder or parser) to build its DISCOVER and read replies."""

from __future__ import annotations

import random
import select
import socket
import time

TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM"}


def dhcp_reply(raw: bytes) -> tuple[int, bytes, str] | None:
    """(xid, chaddr, message type) of a BOOTP reply, as Scapy reads it; None otherwise."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.l2 import Ether

    try:
        pkt = Ether(raw)
    except Exception:
        return None
    if BOOTP not in pkt or pkt[BOOTP].op != 2:
        return None
    kind = "BOOTP"
    if DHCP in pkt:
        for opt in pkt[DHCP].options:
            if isinstance(opt, tuple) and opt[0] == "message-type":
                kind = TYPES.get(opt[1], f"type {opt[1]}") if isinstance(opt[1], int) else str(opt[1]).upper()
                break
    return pkt[BOOTP].xid, bytes(pkt[BOOTP].chaddr)[:6], kind


def scapy_discover(mac: bytes, xid: int) -> bytes:
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
                 / UDP(sport=68, dport=67) / BOOTP(chaddr=mac, xid=xid)
                 / DHCP(options=[("message-type", "discover"), "end"]))


def replay(iface: str, frames: list[bytes], chaddr: bytes, xid: int | None, wait: float = 2.0) -> list[str]:
    """Sends ``frames`` as they are, then a DISCOVER of its own as a barrier (a
    server answers in order), and returns the types of the DHCP replies to
    ``chaddr`` (and ``xid``, if given) that came before the barrier's OFFER."""
    barrier = random.getrandbits(32)
    seen: list[str] = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE
        sock.bind((iface, 0))
        for frame in frames:
            sock.send(frame)
        sock.send(scapy_discover(chaddr, barrier))
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
            reply = dhcp_reply(sock.recv(65535))
            if reply is None or reply[1] != chaddr:
                continue
            if reply[0] == barrier:
                return seen
            if xid is None or reply[0] == xid:
                seen.append(reply[2])
    raise AssertionError(f"the barrier DISCOVER got no OFFER within {wait} s: the server is not answering")
