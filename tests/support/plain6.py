"""An independent DHCPv6 witness on a lab link: a plain AF_PACKET socket, with
Scapy (not the project's builder or parser) to build its barrier SOLICIT, to
answer the server's neighbour solicitations and to read its replies."""

from __future__ import annotations

import random
import select
import socket
import time


def _reply(pkt) -> tuple[int, bytes, str] | None:
    """(txid, client DUID, type) of a server's ADVERTISE or REPLY, inside any relay layers."""
    from scapy.layers.dhcp6 import DHCP6_Advertise, DHCP6_Reply, DHCP6OptClientId

    for layer, name in ((DHCP6_Advertise, "ADVERTISE"), (DHCP6_Reply, "REPLY")):
        if layer in pkt:
            msg = pkt[layer]
            cid = bytes(msg[DHCP6OptClientId].duid) if DHCP6OptClientId in msg else b""
            return msg.trid, cid, name
    return None


def replay6(iface: str, frames: list[bytes], mac: str, duid: bytes, txid: int | None,
            wait: float = 2.0) -> list[str]:
    """Sends ``frames`` as they are, then a SOLICIT of its own as a barrier (a
    server answers in order), and returns the types of the replies to ``duid``
    (and ``txid``, if given) that came before the barrier's ADVERTISE."""
    from scapy.layers.dhcp6 import DHCP6_Solicit, DHCP6OptClientId, DHCP6OptElapsedTime, DHCP6OptIA_NA
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils6 import in6_mactoifaceid

    ll = "fe80::" + in6_mactoifaceid(mac)
    barrier = random.getrandbits(24)
    solicit = (Ether(src=mac, dst="33:33:00:01:00:02") / IPv6(src=ll, dst="ff02::1:2") / UDP(sport=546, dport=547)
               / DHCP6_Solicit(trid=barrier) / DHCP6OptClientId(duid=duid) / DHCP6OptElapsedTime()
               / DHCP6OptIA_NA(iaid=1))
    seen: list[str] = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE
        sock.bind((iface, 0))
        for frame in frames:
            sock.send(frame)
        sock.send(bytes(solicit))
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
            raw = sock.recv(65535)
            try:
                pkt = Ether(raw)
            except Exception:
                continue
            if ICMPv6ND_NS in pkt and socket.inet_pton(socket.AF_INET6, pkt[ICMPv6ND_NS].tgt) == \
                    socket.inet_pton(socket.AF_INET6, ll):
                sock.send(bytes(Ether(src=mac, dst=pkt.src) / IPv6(src=ll, dst=pkt[IPv6].src)
                                / ICMPv6ND_NA(tgt=ll, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac)))
                continue
            reply = _reply(pkt)
            if reply is None or reply[1] != duid:
                continue
            if reply[0] == barrier:
                return seen
            if txid is None or reply[0] == txid:
                seen.append(reply[2])
    raise AssertionError(f"the barrier SOLICIT got no ADVERTISE within {wait} s: the server is not answering")
