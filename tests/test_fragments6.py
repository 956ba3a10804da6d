"""IPv6 fragments both ways, with Scapy as the oracle, and the v6 socket's filter letting them
through (run on a small classic-BPF interpreter: the kernel's instructions, nothing of ours)."""

from __future__ import annotations

import random

from scapy.layers.dhcp6 import DUID_LL, DHCP6_Request, DHCP6OptClientId, DHCP6OptIA_NA, DHCP6OptIAAddress
from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6, IPv6ExtHdrFragment, defragment6
from scapy.layers.inet6 import fragment6 as scapy_fragment6
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.wire.dhcp6 import DHCP6_FILTER
from scapy_dhcp_ext.wire.fragments6 import Reassembly6, fragment6


def big_request() -> bytes:
    """A REQUEST that writes 100 addresses back: 2.8 KB, past the link's MTU."""
    ia = DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr=f"fd77::{0x1000 + i:x}") for i in range(100)])
    return bytes(Ether(src="02:00:00:00:00:0a", dst="33:33:00:01:00:02")
                 / IPv6(src="fe80::ff:fe00:a", dst="ff02::1:2") / UDP(sport=546, dport=547)
                 / DHCP6_Request(trid=7) / DHCP6OptClientId(duid=DUID_LL(lladdr="02:00:00:00:00:0a")) / ia)


def test_our_fragments_are_what_scapy_puts_back_together():
    frame = big_request()
    pieces = fragment6(frame, 1500)
    assert len(pieces) == 2 and all(len(p) - 14 <= 1500 for p in pieces)
    assert bytes(defragment6([IPv6(p[14:]) for p in pieces])) == frame[14:]
    assert fragment6(frame[:200], 1500) == [frame[:200]]


def test_scapys_fragments_in_any_order_come_back_whole_once():
    frame = big_request()
    udp = IPv6(frame[14:])[UDP]
    packets = scapy_fragment6(IPv6(src="fe80::ff:fe00:a", dst="ff02::1:2") / IPv6ExtHdrFragment() / udp, 600)
    raws = [frame[:14] + bytes(p) for p in packets]
    assert len(raws) >= 5
    random.Random(1).shuffle(raws)
    r = Reassembly6()
    got = [w for w in (r.add(x) for x in raws) if w is not None]
    assert len(got) == 1 and IPv6(got[0][14:])[UDP].payload == IPv6(frame[14:])[UDP].payload
    assert r.add(frame) is None   # not a fragment


def test_overlapping_and_oversized_datagrams_are_dropped_whole():
    frame = big_request()
    first, second = fragment6(frame, 1500)
    r = Reassembly6()
    assert r.add(first) is None and r.add(first) is None   # the same piece again overlaps: gone
    assert r.add(second) is None
    clock = [0.0]
    r = Reassembly6(clock=lambda: clock[0])
    r.add(first)
    clock[0] = 61.0                                          # past 60 s: the first piece is forgotten
    assert r.add(second) is None


def bpf(program, raw: bytes) -> int:
    """Classic BPF, the instructions the filters use (ld h/b absolute, jeq, ret)."""
    pc, a = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x28:
            a = int.from_bytes(raw[k:k + 2], "big") if k + 2 <= len(raw) else None
        elif code == 0x30:
            a = raw[k] if k < len(raw) else None
        elif code == 0x15:
            if a is None:
                return 0
            pc += jt if a == k else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"instruction {code:#x} not in this interpreter")
        pc += 1


def test_the_v6_filter_lets_fragments_dhcpv6_and_icmpv6_through_and_nothing_else():
    eth = Ether(src="02:00:00:00:00:0a", dst="02:53:00:00:00:01")
    ns = bytes(eth / IPv6(src="fe80::1", dst="ff02::1:ff00:a") / ICMPv6ND_NS(tgt="fe80::a"))
    tcp = bytes(eth / IPv6(src="fe80::1", dst="fe80::2", nh=6) / (b"\0" * 20))
    other_udp = bytes(eth / IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=53, dport=53))
    v4 = bytes(Ether(src="02:00:00:00:00:0a", dst="02:53:00:00:00:01", type=0x0800)) + b"\x45" + bytes(40)
    assert all(bpf(DHCP6_FILTER, x) for x in [big_request(), *fragment6(big_request(), 1500), ns])
    assert not any(bpf(DHCP6_FILTER, x) for x in [tcp, other_udp, v4])
