"""A deliberately broken DHCP client for the check_client() tests, on a plain
raw socket in a lab namespace:

    ip netns exec NS python -m tests.support.broken_client IFACE MAC READY_FILE

- it DISCOVERs every 2 s, secs always 0;
- it takes the first OFFER for its MAC whatever its xid (ignores-foreign-xid);
- its REQUEST in SELECTING has ciaddr set to the offered address, the xid plus one
  (request-selecting-has-server-id-and-address, xid-stable-in-transaction) and a shorter
  parameter list than its DISCOVER (param-request-list-stable);
- once ACKed it never renews and answers ARP for the address for ever (renew-at-t1,
  rebind-at-t2-broadcast, stops-using-expired-lease);
- it ignores a NAK (nak-restarts-discovery).
"""

from __future__ import annotations

import random
import select
import socket
import sys
import time
from pathlib import Path

from scapy_dhcp_ext.wire import ACK, ARP_REPLY, DISCOVER, OFFER, REQUEST, arp_frame, ip_bytes, mac_bytes
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message


def main() -> None:
    iface, mac, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    chaddr = mac_bytes(mac)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((iface, 0))
    ready.write_text("ready")
    xid, next_discover, address, requested = random.getrandbits(32), 0.0, b"", False
    discover_opts = MessageOptions(client_id=b"\x01" + chaddr, param_req_list=[1, 3, 6, 15])
    request_opts = MessageOptions(client_id=b"\x01" + chaddr, param_req_list=[1])
    while True:
        now = time.monotonic()
        if not address and not requested and now >= next_discover:
            sock.send(build_message(DISCOVER, mac=mac, xid=xid, opts=discover_opts))
            next_discover = now + 2.0
        if not select.select([sock], [], [], 0.1)[0]:
            continue
        raw = sock.recv(65535)
        if raw[12:14] == b"\x08\x06":
            if address and raw[20:22] == b"\x00\x01" and raw[38:42] == address:
                sock.send(arp_frame(ARP_REPLY, sha=chaddr, spa=address, tha=raw[22:28], tpa=raw[28:32]))
            continue
        frame = parse_frame(raw)
        if frame.op != 2 or frame.chaddr != chaddr:
            continue
        if frame.message_type == OFFER and not requested and not address:
            requested = True
            sock.send(build_message(REQUEST, mac=mac, xid=(frame.xid or 0) + 1, opts=request_opts,
                                    requested=frame.yiaddr, server_id=frame.server_id, ciaddr=frame.yiaddr))
        elif frame.message_type == ACK and not address:
            address = ip_bytes(frame.yiaddr)


if __name__ == "__main__":
    main()
