"""A deliberately broken DHCP server for the check_server() tests: our own
serve() in a lab namespace, with hooks that break six rules and nothing else.

    ip netns exec NS python -m tests.support.broken_server IFACE READY_FILE

- its OFFER has no option 54 and no option 51, ciaddr 10.77.0.9, and flags 0
  whatever the DISCOVER's (offer-has-server-id, offer-has-lease-time,
  offer-ciaddr-zero, flags-echoed);
- its ACK to an INFORM carries a lease time (inform-ack-no-lease-time);
- it ACKs a REQUEST that names another server (selecting-other-server-silent).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.wire import ACK, INFORM, OFFER, REQUEST, ZERO_IP
from scapy_dhcp_ext.wire.frames4 import Frame, parse_frame
from scapy_dhcp_ext.wire.replies4 import build_reply


def rebuilt(pkt: Ether) -> bytes:
    del pkt[IP].chksum, pkt[IP].len, pkt[UDP].chksum, pkt[UDP].len
    return bytes(pkt)


def main() -> None:
    iface, ready = sys.argv[1], Path(sys.argv[2])
    session = DhcpSession(iface, state_file=False)
    srv = session.serve(iface=iface, lease_time=600)

    def mutate(req: Frame, raw: bytes) -> bytes:
        kind = parse_frame(raw).message_type
        pkt = Ether(raw)
        if kind == OFFER:
            pkt[DHCP].options = [o for o in pkt[DHCP].options
                                 if not (isinstance(o, tuple) and o[0] in ("server_id", "lease_time"))]
            pkt[BOOTP].ciaddr, pkt[BOOTP].flags = "10.77.0.9", 0
            return rebuilt(pkt)
        if kind == ACK and req.message_type == INFORM:
            pkt[DHCP].options = [("lease_time", 600)] + list(pkt[DHCP].options)
            return rebuilt(pkt)
        return raw

    def observe(req: Frame) -> None:
        others = req.server_id not in (None, srv.pool.server_ip)
        if req.message_type == REQUEST and others and req.ciaddr == ZERO_IP and req._addr(50):
            srv.send(build_reply(req, ACK, srv.opts, server_mac=session.endpoint.mac_bytes,
                                 server_ip=srv.pool.server_ip, yiaddr=req._addr(50) or ZERO_IP), "broken: ACK anyway")

    srv.attach(observe, mutate)
    ready.write_text("ready")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
