"""The server's soak: ``serve()`` as users run it (its state file on) under
perfdhcp for minutes, with malformed requests mixed in, watched from outside.

    ./dev.sh soak [MINUTES]       (as root; default 10)

perfdhcp (2,000 clients, as a relay from a namespace of the lab) runs at 80%
of the clean rate measured first, with the rest already running: a second
namespace sends malformed requests of a dozen kinds at 5% of all requests,
and a plain socket beside perfdhcp records every ACK sent to it (offsets read
by hand, not our parser). It checks, and prints:

- RSS of the serving process, sampled each 10 s: the last sample within 10% of
  the one taken when the warm-up ended (the second minute);
- what the server keeps stays bounded: its lease file (rewritten as it grows),
  its log (the last 10,000 frames), its malformed counts (by client and kind),
  the state journal (no frames in it);
- no internal error in ``srv.log``;
- no address bound to two clients: in the lease table, and in the ACKs on the wire.

Exits non-zero if any check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cpu import Perfdhcp, perfdhcp_argv, perfdhcp_from  # noqa: E402
from bench.run import paced_garbage, perfdhcp_best  # noqa: E402
from scapy_dhcp_ext import DhcpSession  # noqa: E402
from scapy_dhcp_ext.lab import Lab  # noqa: E402

ACK_RECORDER = r"""
import socket, sys, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)
sock.bind(("eth0", 0))
sock.settimeout(0.5)
end = time.monotonic() + float(sys.argv[1])
seen = {}
try:
    while time.monotonic() < end:
        try:
            f = sock.recv(2048)
        except socket.timeout:
            continue
        if len(f) < 286 or f[23] != 17 or f[36:38] not in (b"\x00\x43", b"\x00\x44") or f[42] != 2:
            continue
        i, kind = 282, None
        while i + 2 < len(f) and f[i] != 255:
            if f[i] == 0:
                i += 1
                continue
            if f[i] == 53 and f[i + 1] == 1:
                kind = f[i + 2]
                break
            i += 2 + f[i + 1]
        if kind == 5:
            seen.setdefault(socket.inet_ntoa(f[58:62]), set()).add(f[70:76].hex())
except KeyboardInterrupt:
    pass
print(len(seen), sum(1 for m in seen.values() if len(m) > 1))
for address, macs in seen.items():
    if len(macs) > 1:
        print(address, *sorted(macs))
"""


def rss_kib() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("minutes", nargs="?", type=float, default=10.0)
    args = parser.parse_args()
    seconds = int(args.minutes * 60)
    failures: list[str] = []
    with Lab([], extra=2) as lab, tempfile.TemporaryDirectory() as tmp:
        perf_ns, storm_ns = lab.extra_netns
        session = DhcpSession(lab.iface, state_file=str(Path(tmp) / "state.json"))
        srv = session.serve("10.77.0.0/16")
        # The watcher and the garbage run from the start: the clean rate is measured beside them.
        bad_rate = 600
        watch = subprocess.Popen(["ip", "netns", "exec", perf_ns, sys.executable, "-c", ACK_RECORDER,
                                  str(seconds + 300)], stdout=subprocess.PIPE, text=True)
        storm = paced_garbage(storm_ns, bad_rate, seconds + 300)   # returns once the garbage flows
        clean, detail = perfdhcp_best(lab, 4, [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000],
                                      refine=2, netns=perf_ns, mode="single")
        rate = int(clean * 0.8)
        storm.send_signal(signal.SIGINT)   # the garbage again, now at 5% of all requests
        calibration_garbage = json.loads(storm.communicate(timeout=60)[0].strip().splitlines()[-1])["malformed"]
        bad_rate = max(1, round(2 * rate * 0.05 / 0.95))   # perfdhcp's rate is of exchanges: two requests each
        storm = paced_garbage(storm_ns, bad_rate, seconds + 300)
        print(f"soak: {args.minutes:g} min; clean rate {clean:.0f}/s ({detail}) beside the garbage; perfdhcp "
              f"at {rate}/s, malformed at {bad_rate}/s ({bad_rate / (2 * rate + bad_rate):.1%} of requests)",
              file=sys.stderr)
        perf = subprocess.Popen(perfdhcp_argv(perfdhcp_from(perf_ns, "-4", "single"), rate, seconds),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        samples: list[tuple[float, int]] = []
        start = time.monotonic()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(10):
                samples.append((time.monotonic() - start, rss_kib()))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        perf_out, _ = perf.communicate(timeout=seconds + 120)
        stop.set()
        for proc in (storm, watch):   # both outlive perfdhcp by design: a SIGINT ends each with its count
            proc.send_signal(signal.SIGINT)
        storm_out, _ = storm.communicate(timeout=120)
        watch_out, _ = watch.communicate(timeout=120)
        done = Perfdhcp(perf_out)
        lost, achieved = done.lost, done.achieved

        warm = next((kib for t, kib in samples if t >= 120), samples[0][1] if samples else 0)
        last = samples[-1][1] if samples else 0
        growth = (last - warm) / warm if warm else 1.0
        errors = [h.note for h in srv.log if "internal error" in h.note]
        bound: dict[str, set[str]] = {}
        for lease in srv.leases:
            if lease.state == "bound":
                bound.setdefault(lease.address, set()).add(lease.mac)
        table_twice = sum(1 for macs in bound.values() if len(macs) > 1)
        acked, wire_twice = (int(x) for x in watch_out.split()[:2])
        lease_lines, lease_addresses, lease_file_bytes = 0, 0, 0
        if srv.keeper is not None:   # read from the file itself: its rows (after the header) and their addresses
            srv.keeper.file.flush()
            rows = [line.split(",") for line in srv.keeper.file.path.read_text().splitlines()[1:] if line]
            lease_lines, lease_addresses = len(rows), len({r[2] for r in rows if len(r) > 2})
            lease_file_bytes = srv.keeper.file.path.stat().st_size
        journal = Path(tmp) / "journal.jsonl"
        journal_bytes = journal.stat().st_size if journal.exists() else 0
        storm_sent = json.loads(storm_out.strip().splitlines()[-1])["malformed"] if storm_out.strip() else 0
        storm_sent += calibration_garbage
        counts = srv.malformed_counts()
        srv.stop()
        session.close()

    rows = [("perfdhcp", f"{achieved:.0f}/s achieved of {rate}/s asked (80% of {clean:.0f}/s), {lost:.2%} lost, "
                         f"{seconds} s"),
            ("malformed sent", f"{storm_sent} (600/s while calibrating, then {bad_rate}/s); "
                               f"{sum(counts.values())} ignored and counted, "
                               f"{len(counts)} kinds kept whole in srv.log"),
            ("RSS", f"{warm / 1024:.1f} MiB after warm-up, {last / 1024:.1f} MiB at the end ({growth:+.1%})"),
            ("lease file", f"{lease_lines} lines for {lease_addresses} addresses, {lease_file_bytes // 1024} KiB "
                           "(rewritten as it grows)"),
            ("state journal", f"{journal_bytes // 1024} KiB (no frames)"),
            ("srv.log", f"{len(srv.log)} frames kept in memory (the last 10,000)"),
            ("internal errors", str(len(errors))),
            ("bound twice", f"{table_twice} in the lease table ({len(bound)} bound); "
                            f"{wire_twice} on the wire ({acked} addresses ACKed)")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:{width}}  {value}")
    if abs(growth) > 0.10:
        failures.append(f"RSS moved {growth:+.1%} after the warm-up (at most 10%)")
    if errors:
        failures.append(f"{len(errors)} internal errors: {errors[:3]}")
    if table_twice or wire_twice:
        failures.append(f"addresses bound to two clients: {table_twice} in the table, {wire_twice} on the wire")
    if lost > 0.05:
        failures.append(f"perfdhcp lost {lost:.2%} at 80% of the clean rate")
    # bounded: rewritten once its lines pass four times the addresses it holds (bound, released,
    # declined: every one a row after a rewrite), or 4,096
    if lease_lines > max(4096, 4 * lease_addresses) + 1:
        failures.append(f"the lease file holds {lease_lines} lines for {lease_addresses} addresses: not bounded")
    if journal_bytes > 1 << 20:
        failures.append(f"the state journal grew to {journal_bytes} bytes")
    for failure in failures:
        print(f"FAIL: {failure}")
    print("soak: " + ("passed" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
