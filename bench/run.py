"""Benchmarks, each reported as a ratio against a baseline measured in the same run.

    ./dev.sh bench            (as root: it starts its own lab with Kea)

Rows:
- dora: the median of ``dora()`` (one kept socket, prebuilt bytes, state saved)
  against the seed's way: Scapy's ``srp1`` for the DISCOVER and again for the
  REQUEST (a socket and a BPF filter per packet). Target: 40 times faster.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scapy_dhcp_ext import DhcpSession  # noqa: E402
from scapy_dhcp_ext.lab import Lab  # noqa: E402
from scapy_dhcp_ext.packets import mac_bytes, random_mac  # noqa: E402


def median_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def seed_dora(iface: str) -> Callable[[], object]:
    """The script this project grew from: build with Scapy, srp1 per packet."""
    from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, srp1

    conf.checkIPaddr = False
    conf.verb = 0
    mac = random_mac()

    def once() -> object:
        import random

        xid = random.getrandbits(32)
        base = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(
            sport=68, dport=67) / BOOTP(chaddr=mac_bytes(mac), xid=xid)
        offer = srp1(base / DHCP(options=[("message-type", "discover"), "end"]), iface=iface, timeout=2)
        assert offer is not None, "the seed's way got no OFFER"
        ack = srp1(base / DHCP(options=[("message-type", "request"), ("requested_addr", offer[BOOTP].yiaddr),
                                        ("server_id", offer[IP].src), "end"]), iface=iface, timeout=2)
        assert ack is not None, "the seed's way got no ACK"
        return ack
    return once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300, help="dora() calls to time")
    parser.add_argument("--seed-rounds", type=int, default=30, help="seed-way calls to time")
    args = parser.parse_args()
    rows = []
    with Lab("kea") as lab, tempfile.TemporaryDirectory() as tmp:
        session = DhcpSession(lab.iface, state_file=str(Path(tmp) / "state.json"))
        ours = median_ms(session.dora, args.rounds)
        seed = median_ms(seed_dora(lab.iface), args.seed_rounds)
        session.close()
        rows.append(("dora() median vs the seed's srp1 way", f"{ours:.2f} ms", f"{seed:.2f} ms",
                     seed / ours, 40.0))
    print(f"{'benchmark':42} {'ours':>10} {'baseline':>10} {'ratio':>8} {'target':>8}  verdict")
    failed = 0
    for name, a, b, ratio, target in rows:
        ok = ratio >= target
        failed += not ok
        verdict = "met" if ok else f"missed by {target / ratio:.2f}x"
        print(f"{name:42} {a:>10} {b:>10} {ratio:>7.1f}x {target:>7.1f}x  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
