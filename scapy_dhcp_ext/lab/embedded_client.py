"""An embedded-style DHCPv4 client for the lab: a small TCP/IP stack's client as
it ships, with a log of what it did and why. Standard library only, and no
code of the package it tests: its event log is an independent oracle.

    ip netns exec NS python3 embedded_client.py eth0 02:5c:00:00:00:01 EVENTS [options]

What it does, as such stacks do:

- DISCOVERs on a fixed back-off schedule (``--schedule``, default 2,4,8,16,32,60 s,
  the last step repeated), no jitter, the same xid on every retransmission;
- REQUESTs the first acceptable OFFER, with the same xid;
- after the ACK, probes the address with ARP (RFC 5227: PROBE_WAIT 1 s, 3 probes
  1 to 2 s apart, ANNOUNCE_WAIT 2 s), then configures it and announces it twice,
  2 s apart (``--no-arp-probe``: configured at once); on a conflict it DECLINEs
  (``--decline-no-server-id``: without option 54, a known embedded bug) and
  waits 10 s before it DISCOVERs again (RFC 2131 3.1.5);
- starts its lease clock when it configures the address (after probing: such
  stacks do; RFC 2131 4.4.1 says from the REQUEST);
- once configured, answers ARP and ICMP echo for its address; renews at T1
  (option 58, else half the lease) unicast to the server, with its DORA's xid
  (``--new-xid-on-renew``: a fresh one), rebinds at T2, starts over at the end;
- ignores an unauthenticated FORCERENEW, and with ``--unicast-only`` any OFFER
  or ACK not sent to its own MAC;
- ``--crash-on KIND[,KIND]``: exits (status 70) on a reply with that anomaly,
  as a board that hangs on it: option-overrun, no-end, opt53-missing, yiaddr-zero,
  lease-zero, shell-metachar, oversize.

Each event is one line of the lab clients' format: ``event=NAME``, ``t=EPOCH``,
then ``key=HEX`` fields (``ip``, ``lease``, ``serverid``, ``why``, ...).
SIGUSR1 renews now (or, released, starts over); SIGUSR2 releases the lease (a
RELEASE unicast to the server, with ciaddr, option 54 and a new xid) and waits;
SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL, SOL_PACKET, PACKET_AUXDATA, CSUM_NOT_READY = 0x0003, 263, 8, 8
BROADCAST, ZERO = b"\xff" * 6, bytes(4)
COOKIE = b"\x63\x82\x53\x63"
NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM",
         9: "FORCERENEW"}
PROBE_WAIT, PROBE_NUM, PROBE_MIN, PROBE_MAX, ANNOUNCE_WAIT, ANNOUNCE_NUM, ANNOUNCE_INTERVAL = 1, 3, 1, 2, 2, 2, 2
KINDS = ("option-overrun", "no-end", "opt53-missing", "yiaddr-zero", "lease-zero", "shell-metachar", "oversize")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_packet(proto: int, src: bytes, dst: bytes, payload: bytes) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), random.getrandbits(16), 0, 64, proto, 0, src, dst)
    return head[:10] + struct.pack("!H", csum(head)) + head[12:] + payload


def udp_frame(src_mac: bytes, dst_mac: bytes, src: bytes, dst: bytes, body: bytes) -> bytes:
    udp = struct.pack("!HHHH", 68, 67, 8 + len(body), 0) + body   # checksum 0: none (allowed over IPv4)
    return dst_mac + src_mac + b"\x08\x00" + ip_packet(17, src, dst, udp)


def arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, dst: bytes = BROADCAST) -> bytes:
    return dst + sha + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


def ip_text(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def walk(area: bytes) -> tuple[dict[int, bytes], list[str]]:
    """The options of an option area, defensively: (options, anomalies)."""
    opts: dict[int, bytes] = {}
    at = 0
    while at < len(area):
        code = area[at]
        if code == 0:
            at += 1
            continue
        if code == 255:
            return opts, []
        if at + 1 >= len(area) or at + 2 + area[at + 1] > len(area):
            return opts, ["option-overrun"]
        opts[code] = opts.get(code, b"") + area[at + 2:at + 2 + area[at + 1]]
        at += 2 + area[at + 1]
    return opts, ["no-end"]


class Device:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mac = bytes.fromhex(args.mac.replace(":", ""))
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.bind((args.iface, 0))
        self.events = os.open(args.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.schedule = [float(x) for x in args.schedule.split(",")]
        self.crash_on = set(filter(None, args.crash_on.split(",")))
        self.state, self.due, self.tries = "init", time.monotonic(), 0
        self.xid = self.dora_xid = 0
        self.offered = self.address = self.server = ZERO
        self.server_mac = BROADCAST
        self.lease = self.t1 = self.t2 = 0.0
        self.bound_at = 0.0
        self.probes = self.announces = 0
        self.renew_now = self.release_now = False
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "renew_now", True))
        signal.signal(signal.SIGUSR2, lambda *_: setattr(self, "release_now", True))
        self.wake, wake_w = socket.socketpair()   # a signal wakes the select() below at once
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        self._wake_w = wake_w
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def log(self, event: str, **fields: object) -> None:
        line = f"event={event}\tt={time.time():.6f}" + "".join(
            f"\t{k}={str(v).encode('utf-8', 'backslashreplace').hex()}" for k, v in fields.items())
        os.write(self.events, (line + "\n").encode())

    # -- sending -----------------------------------------------------------

    def message(self, kind: int, *, ciaddr: bytes = ZERO, options: bytes = b"") -> bytes:
        head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, self.xid, 0, 0, ciaddr, ZERO, ZERO, ZERO,
                           self.mac, b"", b"")
        body = head + COOKIE + bytes([53, 1, kind]) + bytes([61, 7, 1]) + self.mac + options + b"\xff"
        return body + bytes(max(0, 300 - len(body)))

    def send_dhcp(self, kind: int, *, unicast: bool = False, ciaddr: bytes = ZERO, options: bytes = b"") -> None:
        body = self.message(kind, ciaddr=ciaddr, options=options)
        if unicast:
            frame = udp_frame(self.mac, self.server_mac, self.address, self.server, body)
        else:
            frame = udp_frame(self.mac, BROADCAST, ciaddr, b"\xff" * 4, body)
        self.sock.send(frame)

    def step_delay(self) -> float:
        return self.schedule[min(self.tries, len(self.schedule) - 1)]

    # -- timers --------------------------------------------------------------

    def on_timer(self) -> None:
        now, st = time.monotonic(), self.state
        if st in ("init", "declined"):
            self.xid = self.dora_xid = random.getrandbits(32)
            self.state, self.tries = "selecting", 0
            st = "selecting"
        if st == "selecting":
            self.send_dhcp(1, options=bytes([55, 4, 1, 3, 6, 51]))
            self.log("discover", xid=f"{self.xid:08x}", attempt=self.tries + 1, next=self.step_delay())
            self.due = now + self.step_delay()
            self.tries += 1
        elif st == "requesting":
            if self.tries >= 4:
                self.log("restart", why="no ACK to 4 REQUESTs")
                self.state, self.due = "init", now
                return
            self.send_dhcp(3, options=bytes([50, 4]) + self.offered + bytes([54, 4]) + self.server)
            self.log("request", xid=f"{self.xid:08x}", ip=ip_text(self.offered), serverid=ip_text(self.server))
            self.due = now + self.step_delay()
            self.tries += 1
        elif st == "probing":
            if self.probes < PROBE_NUM:
                self.sock.send(arp(1, self.mac, ZERO, bytes(6), self.offered))
                self.probes += 1
                self.log("probe", ip=ip_text(self.offered), n=self.probes)
                self.due = now + (random.uniform(PROBE_MIN, PROBE_MAX) if self.probes < PROBE_NUM else ANNOUNCE_WAIT)
            else:
                self.configure()
        elif st == "bound" and self.announces < ANNOUNCE_NUM:
            self.announce()
        elif st in ("bound", "renewing", "rebinding"):
            self.lease_timer(now)

    def configure(self) -> None:
        self.address, self.state = self.offered, "bound"
        self.bound_at = time.monotonic()
        self.log("bound", ip=ip_text(self.address), lease=int(self.lease), serverid=ip_text(self.server),
                 t1=round(self.t1, 1))
        self.announces = 0 if self.args.arp_probe else ANNOUNCE_NUM
        if self.args.arp_probe:
            self.announce()
        else:
            self.due = self.bound_at + self.t1

    def announce(self) -> None:
        self.sock.send(arp(1, self.mac, self.address, bytes(6), self.address))
        self.announces += 1
        self.log("announce", ip=ip_text(self.address), n=self.announces)
        self.due = time.monotonic() + ANNOUNCE_INTERVAL if self.announces < ANNOUNCE_NUM else self.bound_at + self.t1

    def lease_timer(self, now: float) -> None:
        since = now - self.bound_at
        if since >= self.lease:
            self.log("expire", ip=ip_text(self.address), why="the lease ended")
            self.address, self.state, self.due = ZERO, "init", now
            return
        if since >= self.t2 or self.state == "rebinding":
            if self.state != "rebinding":
                self.state = "rebinding"
                self.log("rebind", ip=ip_text(self.address))
            self.send_dhcp(3, ciaddr=self.address)
        else:
            if self.state != "renewing":
                self.state = "renewing"
                self.xid = self.dora_xid if not self.args.new_xid_on_renew else random.getrandbits(32)
                self.log("renew", ip=ip_text(self.address), xid=f"{self.xid:08x}")
            self.send_dhcp(3, unicast=True, ciaddr=self.address)
        limit = self.lease if self.state == "rebinding" else self.t2
        self.due = now + max(1.0, min(60.0, (limit - since) / 2))

    def release(self) -> None:
        if self.state not in ("bound", "renewing", "rebinding"):
            self.log("ignored", why=f"SIGUSR2 while {self.state}: no lease to release")
            return
        self.xid = random.getrandbits(32)
        self.send_dhcp(7, unicast=True, ciaddr=self.address, options=bytes([54, 4]) + self.server)
        self.log("released", ip=ip_text(self.address), xid=f"{self.xid:08x}")
        self.address, self.state, self.due = ZERO, "released", time.monotonic() + 86400.0

    # -- receiving -----------------------------------------------------------

    def on_frame(self, raw: bytes, csum_ready: bool) -> None:
        if raw[6:12] == self.mac:
            return
        if raw[12:14] == b"\x08\x06" and len(raw) >= 42:
            self.on_arp(raw)
        elif raw[12:14] == b"\x08\x00" and len(raw) >= 34:
            ihl = (raw[14] & 0x0F) * 4
            if raw[23] == 1 and raw[30:34] == self.address != ZERO and raw[14 + ihl:15 + ihl] == b"\x08":
                self.echo_reply(raw, ihl)
            elif raw[23] == 17 and raw[14 + ihl + 2:14 + ihl + 4] == b"\x00\x44":
                self.on_dhcp(raw, ihl, csum_ready)

    def on_arp(self, raw: bytes) -> None:
        op, sha, spa, tpa = struct.unpack_from("!H", raw, 20)[0], raw[22:28], raw[28:32], raw[38:42]
        if self.state == "probing" and (spa == self.offered or (spa == ZERO and tpa == self.offered)):
            self.log("conflict", ip=ip_text(self.offered), by=sha.hex(":"))
            opts = bytes([50, 4]) + self.offered + (b"" if self.args.decline_no_server_id
                                                    else bytes([54, 4]) + self.server)
            self.send_dhcp(4, options=opts)
            self.log("decline", ip=ip_text(self.offered), serverid="" if self.args.decline_no_server_id
                     else ip_text(self.server))
            self.state, self.due = "declined", time.monotonic() + 10.0
        elif op == 1 and self.address != ZERO and tpa == self.address and spa != ZERO:
            self.sock.send(arp(2, self.mac, self.address, sha, spa, dst=sha))

    def echo_reply(self, raw: bytes, ihl: int) -> None:
        icmp = bytearray(raw[14 + ihl:14 + struct.unpack_from("!H", raw, 16)[0]])
        icmp[0], icmp[2:4] = 0, b"\0\0"
        icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
        self.sock.send(raw[6:12] + self.mac + b"\x08\x00" + ip_packet(1, self.address, raw[26:30], bytes(icmp)))

    def on_dhcp(self, raw: bytes, ihl: int, csum_ready: bool) -> None:
        at = 14 + ihl + 8
        body = raw[at:at + struct.unpack_from("!H", raw, 14 + ihl + 4)[0] - 8]
        if len(body) < 240 or body[0] != 2 or body[28:34] != self.mac or body[236:240] != COOKIE:
            return
        xid = struct.unpack_from("!I", body, 4)[0]
        udp_sum = struct.unpack_from("!H", raw, 14 + ihl + 6)[0]
        opts, anomalies = walk(body[240:])
        kind = opts.get(53, b"\0")[0] if len(opts.get(53, b"")) == 1 else 0
        name = NAMES.get(kind, f"type {kind}")
        if csum_ready and udp_sum and self.udp_sum_bad(raw, ihl):
            self.log("dropped", type=name, why="bad UDP checksum")
            return
        if xid != self.xid and kind != 9:
            self.log("ignored", type=name, why=f"xid {xid:08x} is not ours ({self.xid:08x})")
            return
        anomalies += self.anomalies(body, opts, kind, len(raw))
        crash = [a for a in anomalies if a in self.crash_on]
        if crash:
            self.log("crash", type=name, anomaly=crash[0], frame=raw.hex())
            os._exit(70)
        if anomalies:
            self.log("anomaly", type=name, what=",".join(anomalies))
        if self.args.unicast_only and raw[0:6] != self.mac and kind in (2, 5):
            self.log("ignored", type=name, why="not sent to our MAC (we take unicast only)")
            return
        if kind == 2 and self.state == "selecting" and 54 in opts and len(opts[54]) == 4:
            self.offered, self.server, self.server_mac = body[16:20], opts[54], raw[6:12]
            self.log("offer", ip=ip_text(self.offered), serverid=ip_text(self.server))
            self.state, self.tries = "requesting", 0
            self.on_timer()   # the REQUEST goes from the OFFER's handler, as small stacks send it: a frame
            #                   right behind the OFFER (a NAK) meets it sent, whatever the scheduler did
        elif kind == 5 and self.state in ("requesting", "renewing", "rebinding"):
            self.on_ack(body, opts, raw)
        elif kind == 6 and self.state in ("requesting", "renewing", "rebinding"):
            self.log("nak", message=opts.get(56, b"").decode("latin-1"))
            self.address, self.state, self.due = ZERO, "init", time.monotonic()
        elif kind == 9:
            self.log("ignored", type=name, why="FORCERENEW without authentication (RFC 3203 needs RFC 3118)")
        else:
            self.log("ignored", type=name, why=f"not expected in state {self.state}"
                     + ("" if kind != 2 or 54 in opts else " (no server identifier)"))

    def on_ack(self, body: bytes, opts: dict[int, bytes], raw: bytes) -> None:
        lease = struct.unpack("!I", opts[51][:4])[0] if len(opts.get(51, b"")) == 4 else 3600
        self.lease = float(lease)
        self.t1 = float(struct.unpack("!I", opts[58])[0]) if len(opts.get(58, b"")) == 4 else lease / 2
        self.t2 = float(struct.unpack("!I", opts[59])[0]) if len(opts.get(59, b"")) == 4 else lease * 0.875
        self.log("ack", ip=ip_text(body[16:20]), lease=lease, serverid=ip_text(self.server))
        if self.state in ("renewing", "rebinding"):
            self.bound_at, self.state = time.monotonic(), "bound"
            self.log("bound", ip=ip_text(self.address), lease=lease, serverid=ip_text(self.server), t1=self.t1)
            self.due = self.bound_at + self.t1
            return
        self.offered = body[16:20]
        if self.args.arp_probe:
            self.state, self.probes = "probing", 0
            self.due = time.monotonic() + random.uniform(0, PROBE_WAIT)
        else:
            self.configure()

    def anomalies(self, body: bytes, opts: dict[int, bytes], kind: int, size: int) -> list[str]:
        found = []
        if 53 not in opts:
            found.append("opt53-missing")
        if kind in (2, 5) and body[16:20] == ZERO:
            found.append("yiaddr-zero")
        if kind == 5 and opts.get(51, b"\0\0\0\1")[:4] == ZERO:
            found.append("lease-zero")
        if any(c in v for code in (12, 15, 17, 66, 67) for v in [opts.get(code, b"")] for c in b";`$|&"):
            found.append("shell-metachar")
        if size > 14 + 576:
            found.append("oversize")
        return found

    def udp_sum_bad(self, raw: bytes, ihl: int) -> bool:
        length = struct.unpack_from("!H", raw, 14 + ihl + 4)[0]
        seg = raw[14 + ihl:14 + ihl + length]
        pseudo = raw[26:34] + struct.pack("!BBH", 0, 17, length)
        return len(seg) != length or csum(pseudo + seg) != 0

    # -- the loop ------------------------------------------------------------

    def run(self) -> None:
        self.log("start", mac=self.args.mac, arp_probe=int(self.args.arp_probe), schedule=self.args.schedule)
        while True:
            if self.release_now:
                self.release_now = False
                self.release()
            if self.renew_now:
                self.renew_now = False
                if self.state == "released":
                    self.state, self.due = "init", time.monotonic()
                if self.state == "bound":
                    self.log("renew-asked", why="SIGUSR1")
                    self.bound_at = time.monotonic() - self.t1
                    self.due = time.monotonic()
            wait = max(0.0, self.due - time.monotonic())
            try:
                ready = select.select([self.sock, self.wake], [], [], wait)[0]
            except InterruptedError:
                continue
            if self.wake in ready:
                self.wake.recv(64)
                continue
            if not ready:
                self.on_timer()
                continue
            raw, anc, _flags, _addr = self.sock.recvmsg(65535, socket.CMSG_SPACE(20))
            ready_sum = not any(lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(d) >= 4 and
                                struct.unpack("I", d[:4])[0] & CSUM_NOT_READY for lvl, typ, d in anc)
            self.on_frame(raw, ready_sum)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("iface")
    p.add_argument("mac")
    p.add_argument("events")
    p.add_argument("--no-arp-probe", dest="arp_probe", action="store_false")
    p.add_argument("--schedule", default="2,4,8,16,32,60")
    p.add_argument("--unicast-only", action="store_true")
    p.add_argument("--decline-no-server-id", action="store_true")
    p.add_argument("--new-xid-on-renew", action="store_true")
    p.add_argument("--crash-on", default="", help=",".join(KINDS))
    args = p.parse_args(argv)
    unknown = set(filter(None, args.crash_on.split(","))) - set(KINDS)
    if unknown:
        p.error(f"unknown --crash-on {', '.join(sorted(unknown))}: choose from {', '.join(KINDS)}")
    Device(args).run()


if __name__ == "__main__":
    main()
