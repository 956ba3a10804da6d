"""tshark on a lab link, in the lab's own namespace: what went over the wire,
read by Wireshark's dissector rather than ours."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time

MARK = 0x5EED5EED   # the xid of the frames that show tshark is capturing


def _marker(mac: bytes) -> bytes:
    """A BOOTREPLY to port 68 that no client takes (its xid is nobody's) and no server answers."""
    from scapy_dhcp_ext.wire import MAGIC_COOKIE, bootp_header, ip_udp_frame

    payload = bootp_header(2, MARK, mac) + MAGIC_COOKIE + b"\x35\x01\x02\xff"
    return ip_udp_frame(payload, src_mac=mac, dst_mac=b"\xff" * 6, src_ip="10.77.0.254",
                        dst_ip="255.255.255.255", sport=67, dport=68)


class Capture:
    """``with Capture(netns, "c0", lab.iface) as cap: ...`` then ``cap.dhcp()``:
    (message type, your address, client MAC) of every DHCP frame tshark saw.

    It is ready when tshark prints a marker frame sent from ``send_from`` (no
    version's startup message is trusted: 4.0 says "Capture started", 4.4 does not).
    ``also`` captures more (a capture filter: ``"icmp"``)."""

    def __init__(self, netns: str, iface: str, send_from: str, fields: tuple[str, ...] | None = None,
                 also: str = "") -> None:
        self.netns, self.iface, self.send_from = netns, iface, send_from
        self.filter = "udp port 67 or udp port 68" + (" or arp" if fields else "") + (f" or {also}" if also else "")
        self.fields = fields or ("dhcp.option.dhcp", "dhcp.ip.your", "dhcp.hw.mac_addr", "dhcp.id")
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Capture:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "tshark", "-l", "-i", self.iface, "-f", self.filter,
             "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
             *[x for f in self.fields for x in ("-e", f)]],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
            sock.bind((self.send_from, 0))
            marker = _marker(bytes.fromhex("025eed000001"))
            deadline = time.monotonic() + 20
            while not any(f"{MARK:#010x}" in line for line in self.lines):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("tshark did not start capturing")
                sock.send(marker)
                time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            time.sleep(0.3)   # the last frames are printed
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)

    def dhcp(self) -> list[tuple[str, str, str]]:
        names = {"1": "DISCOVER", "2": "OFFER", "3": "REQUEST", "4": "DECLINE", "5": "ACK", "6": "NAK",
                 "7": "RELEASE", "8": "INFORM", "9": "FORCERENEW"}
        rows = []
        for line in self.lines:
            kind, yiaddr, mac, xid = (line.split("\t") + ["", "", "", ""])[:4]
            if xid == f"{MARK:#010x}":
                continue
            rows.append((names.get(kind.split(",")[0], kind), yiaddr, mac.split(",")[0]))   # chaddr, not 61's
        return rows

    def rows(self) -> list[dict[str, str]]:
        """Every frame tshark saw but the markers, as {field: text} (lists joined with commas)."""
        out = []
        for line in self.lines:
            values = line.split("\t") + [""] * len(self.fields)
            row = dict(zip(self.fields, values))
            # tshark shows an option 61 of type 1 (a MAC) as a second dhcp.hw.mac_addr: the first is chaddr.
            if "dhcp.hw.mac_addr" in row:
                row["dhcp.hw.mac_addr"] = row["dhcp.hw.mac_addr"].split(",")[0]
            if row.get("dhcp.id") != f"{MARK:#010x}":
                out.append(row)
        return out

