"""The liveness model: everything a live device does, kept as evidence.

A device under test shows it lives by more than its DHCP requests. After an
ACK an RFC 5227 stack probes the address with ARP for seconds (sender IP
0.0.0.0), then announces it; a configured one answers ARP and pings; a bound
one says nothing until T1. So every frame from the device's MAC is a sign
of life, and the sweeps and checks judge silence from the last one:

    >>> life = Liveness(mac)          # fed by the link's tap, on the reader's thread
    >>> life.feed(raw)                # each frame from the device (others are ignored)
    >>> life.last()                   # when it last did anything
    >>> life.words(life.after(t0), t0)
    'ARP probes for 10.77.0.23 at +1.1, +2.3, +3.9 s; ARP announcement of 10.77.0.23 at +5.9 s'

RFC 5227's timing (2.1.1): PROBE_WAIT 1 s, then PROBE_NUM 3 probes PROBE_MIN 1
to PROBE_MAX 2 s apart, ANNOUNCE_WAIT 2 s, then ANNOUNCE_NUM 2 announcements
ANNOUNCE_INTERVAL 2 s apart: about 9 s from the ACK to the last announcement.
Pure: no I/O; the clock is passed in.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from ..wire import (
    ARP_LEN,
    ARP_OPER,
    ARP_SPA,
    ARP_TPA,
    ETH_SRC,
    ETH_TYPE,
    FRAME_OPTIONS,
    IP_PROTO,
    IP_SRC,
    IPPROTO_ICMP,
    ip_str,
)
from ..wire.dhcp6 import DHCP6_AT, ICMP6_AT, IP6_NH, IPPROTO_ICMPV6, MESSAGE_TYPES6, ND_ADVERT, ND_SOLICIT, ip6_str
from ..wire.dhcp6 import IP6_SRC as IP6_SRC6
from ..wire.dhcp6 import IPPROTO_UDP as IPPROTO_UDP6
from ..wire.frames4 import parse_frame

ND_ROUTER_SOLICIT = 133

PROBE_WAIT, PROBE_MAX, ANNOUNCE_WAIT, ANNOUNCE_INTERVAL = 1.0, 2.0, 2.0, 2.0
PROBE_PHASE = PROBE_WAIT + 3 * PROBE_MAX + ANNOUNCE_WAIT   # 9 s: the ACK to the first announcement, at the latest
KEEP = 4096


@dataclass(frozen=True)
class Sign:
    """One thing the device did: ``kind`` (a DHCP message's name, ``arp-probe``,
    ``arp-announce``, ``arp-reply``, ``arp-request``, ``icmp`` or ``frame``), the
    address it concerns ("" when none), and when (the model's clock)."""

    t: float
    kind: str
    address: str = ""

    @property
    def dhcp(self) -> bool:
        return self.kind.isupper()

    def phrase(self) -> str:
        return {"arp-probe": "ARP probes for {a}", "arp-announce": "ARP announcements of {a}",
                "arp-reply": "ARP replies for {a}", "arp-request": "ARP requests from {a}",
                "icmp": "ICMP from {a}", "frame": "other frames", "ns-dad": "DAD probes for {a}",
                "ns": "neighbour solicitations from {a}", "na": "neighbour advertisements for {a}",
                "rs": "router solicitations", "icmp6": "ICMPv6 from {a}"}.get(
            self.kind, self.kind + "s" + (" for {a}" if self.address else "")).format(a=self.address)


def classify(raw: bytes, t: float) -> Sign:
    """What a frame from the device is, as a sign of life."""
    kind = raw[ETH_TYPE:ETH_TYPE + 2]
    if kind == b"\x86\xdd":
        return classify6(raw, t)
    if kind == b"\x08\x06" and len(raw) >= ARP_LEN:
        spa, tpa = raw[ARP_SPA:ARP_SPA + 4], raw[ARP_TPA:ARP_TPA + 4]
        if raw[ARP_OPER:ARP_OPER + 2] == b"\x00\x02":
            return Sign(t, "arp-reply", ip_str(spa))
        if spa == bytes(4):
            return Sign(t, "arp-probe", ip_str(tpa))
        return Sign(t, "arp-announce" if spa == tpa else "arp-request", ip_str(spa))
    if kind == b"\x08\x00" and len(raw) > IP_PROTO:
        if raw[IP_PROTO] == IPPROTO_ICMP:
            return Sign(t, "icmp", ip_str(raw[IP_SRC:IP_SRC + 4]))
        if len(raw) >= FRAME_OPTIONS:
            frame = parse_frame(raw)
            if frame.op == 1 and frame.message_type is not None:
                address = frame.ciaddr if frame.ciaddr != "0.0.0.0" else (frame.requested or "")
                return Sign(t, frame.type_name, address)
    return Sign(t, "frame")


def classify6(raw: bytes, t: float) -> Sign:
    """An IPv6 frame from the device: a DHCPv6 message (its name), duplicate address
    detection (``ns-dad``, a neighbour solicitation from ::), another neighbour
    solicitation (``ns``, from its address), an advertisement (``na``, for its target),
    a router solicitation, other ICMPv6 (RFC 4861, 4862 5.4)."""
    if len(raw) <= DHCP6_AT - 8 or raw[IP6_NH] not in (IPPROTO_UDP6, IPPROTO_ICMPV6):
        return Sign(t, "frame")
    src, kind = ip6_str(raw[IP6_SRC6:IP6_SRC6 + 16]), raw[ICMP6_AT]
    if raw[IP6_NH] == IPPROTO_UDP6:
        if len(raw) > DHCP6_AT and raw[ICMP6_AT + 2:ICMP6_AT + 4] == b"\x02\x23":   # to port 547
            return Sign(t, MESSAGE_TYPES6.get(raw[DHCP6_AT], f"DHCPV6-{raw[DHCP6_AT]}"))
        return Sign(t, "frame")
    target = ip6_str(raw[ICMP6_AT + 8:ICMP6_AT + 24]) if len(raw) >= ICMP6_AT + 24 else ""
    if kind == ND_SOLICIT:
        return Sign(t, "ns-dad", target) if src == "::" else Sign(t, "ns", src)
    if kind == ND_ADVERT:
        return Sign(t, "na", target)
    return Sign(t, "rs") if kind == ND_ROUTER_SOLICIT else Sign(t, "icmp6", src)


class Liveness:
    """The signs of life of the device ``mac`` (None: of the first MAC fed, set
    later with :meth:`follow`), oldest first, the last 4096 kept."""

    def __init__(self, mac: bytes | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.mac = mac
        self.clock = clock
        self._signs: deque[Sign] = deque(maxlen=KEEP)
        self._lock = threading.Lock()

    def follow(self, mac: bytes) -> None:
        """The device is ``mac`` from now on: what others did is forgotten."""
        with self._lock:
            if mac != self.mac:
                self.mac = mac
                self._signs.clear()

    def feed(self, raw: bytes) -> Sign | None:
        """A frame seen on the link: kept if it comes from the device."""
        if self.mac is None or raw[ETH_SRC:ETH_SRC + 6] != self.mac:
            return None
        sign = classify(raw, self.clock())
        with self._lock:
            self._signs.append(sign)
        return sign

    def after(self, t: float) -> list[Sign]:
        with self._lock:
            return [s for s in self._signs if s.t > t]

    def last(self, since: float = 0.0) -> float | None:
        """When the device last did anything (after ``since``), or None."""
        with self._lock:
            return self._signs[-1].t if self._signs and self._signs[-1].t > since else None

    def probes(self, address: str, since: float) -> list[Sign]:
        """Its ARP probes for ``address`` since then (RFC 5227: it is checking the address before use)."""
        return [s for s in self.after(since) if s.kind == "arp-probe" and s.address == address]

    def holds(self, address: str, since: float) -> Sign | None:
        """The first sign since then that it uses ``address``: it announced it, answered
        ARP for it, asked ARP from it or sent ICMP from it (v6: advertised it, checked it
        with DAD, solicited a neighbour or sent ICMPv6 from it). Never the unspecified address:
        a host's frames come from it before it has one (RFC 4862 5.4, RFC 3810 5.2.13)."""
        if address in ("", "::", "0.0.0.0"):
            return None
        return next((s for s in self.after(since) if s.address == address and s.kind in (
            "arp-announce", "arp-reply", "arp-request", "icmp", "na", "ns-dad", "ns", "icmp6")), None)

    def probing_until(self, address: str, since: float) -> float | None:
        """While it probes ``address``: when its probe phase may end at the latest
        (the last probe plus PROBE_MAX and ANNOUNCE_WAIT); None when it is not probing."""
        seen = self.probes(address, since)
        return seen[-1].t + PROBE_MAX + ANNOUNCE_WAIT if seen else None

    def done_probing(self, address: str, since: float) -> bool:
        """Whether a device that probed ``address`` since then is past it: its second
        announcement, or ANNOUNCE_INTERVAL (and a margin) after its first, or, with none,
        PROBE_MAX + ANNOUNCE_WAIT after its last probe. True for one that did not probe.
        dhcpcd opens its socket for the address only after its first announcement, and
        drops what came before."""
        probes = self.probes(address, since)
        if not probes:
            return True
        announced = [s.t for s in self.after(probes[-1].t) if s.kind == "arp-announce" and s.address == address]
        now = self.clock()
        return len(announced) >= 2 or (bool(announced) and now > announced[0] + ANNOUNCE_INTERVAL + 0.5) or (
            not announced and now > probes[-1].t + PROBE_MAX + ANNOUNCE_WAIT)

    @staticmethod
    def words(signs: list[Sign], origin: float, *, ago: bool = False) -> str:
        """The signs in words, grouped by what they were, times from ``origin``:
        "ARP probes for 10.77.0.23 at +1.1, +2.3, +3.9 s; DISCOVERs at +8.0 s"
        (``ago``: "... 3.9, 2.3 s ago", ``origin`` being now)."""
        groups: dict[str, list[float]] = {}
        for s in signs:
            groups.setdefault(s.phrase(), []).append(origin - s.t if ago else s.t - origin)
        parts = []
        for phrase, times in groups.items():
            shown = ", ".join(f"{x:.1f}" if ago else f"+{x:.1f}" for x in times[:6])
            more = f" and {len(times) - 6} more" if len(times) > 6 else ""
            parts.append(f"{phrase} {shown}{more} s ago" if ago else f"{phrase} at {shown}{more} s")
        return "; ".join(parts) or "nothing"

    def summary(self, now: float | None = None) -> str:
        """What the device has been doing, in one line, for a message when the
        expected did not come ("10.77.0.23 from 02:...: REQUESTs every 10.0 s (renewing), ...")."""
        now = self.clock() if now is None else now
        with self._lock:
            signs = list(self._signs)
        if self.mac is None or not signs:
            return "nothing from the device"
        who = ":".join(f"{b:02x}" for b in self.mac)
        dhcp = [s for s in signs if s.dhcp]
        parts = []
        for kind in dict.fromkeys(s.kind for s in dhcp):
            same = [s for s in dhcp if s.kind == kind]
            gaps = [b.t - a.t for a, b in zip(same, same[1:])]
            every = f" every {sum(gaps) / len(gaps):.1f} s" if gaps else ""
            held = {s.address for s in same if s.address}
            for_what = f" for {', '.join(sorted(held))}" if held else ""
            parts.append(f"{len(same)} {kind}{'s' if len(same) > 1 else ''}{for_what}{every}")
        other = [s for s in signs if not s.dhcp]
        if other:
            parts.append(self.words(other[-6:], now, ago=True))
        return f"{who}: " + "; ".join(parts) + f"; last {now - signs[-1].t:.1f} s ago"


class Chooser:
    """The device under test: ``mac`` when given; else the first MAC, never one of
    ``ours()``, that sends DHCP twice, and no other after it."""

    def __init__(self, mac: bytes | None, ours: Callable[[], set[bytes]]) -> None:
        self.target = mac
        self.ours = ours
        self._early: dict[bytes, list[Any]] = {}

    def see(self, mac: bytes, item: Any) -> list[Any]:
        """What of the device's this brings: ``[item]`` when it comes from the device,
        all the chosen MAC sent so far when this message chooses it, else nothing."""
        if self.target is None and mac not in self.ours():
            early = self._early.setdefault(mac, [])
            early.append(item)
            if len(early) < 2:
                return []
            self.target = mac
            self._early.clear()
            return early
        return [item] if mac == self.target else []

    def candidates(self) -> list[bytes]:
        """The MACs heard once while none was chosen."""
        return list(self._early)
