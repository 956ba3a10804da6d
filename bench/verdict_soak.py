"""The verdict soak: the same ``sweep_replies()`` runs, idle and with two
CPU-bound processes, against udhcpc, dhcpcd and the embedded-style client;
every verdict that flips between runs is printed. A flip is a bug: the waits
derive from what the device did, never from fixed sleeps.

    ./dev.sh soak-verdicts [--runs 3] [--clients udhcpc,dhcpcd,embedded] [--cases all|NAME,NAME] [--together]

Each run is a fresh lab with the client (as the lab runs it; add
``udhcpc:shipped`` or ``dhcpcd:shipped`` for the clients as Debian ships them),
the sweep with the default probe (the device's own traffic) and the client's
``restart``. Besides the flips it checks each ``dead`` against the device: a
process that was still running when the sweep restarted it was not dead, and
the embedded client's log says when it crashed. Exits non-zero on a flip or a
wrong ``dead``.

``--together`` runs the clients side by side, round by round, each sweep in a
process of its own: an idle round has no CPU-bound process anywhere, a busy
round the same two for all. The whole catalog against five clients then takes
about as long as against the slowest one (a sweep is mostly waiting on its
device's timers: five use about half of one CPU).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scapy_dhcp_ext import DhcpSession  # noqa: E402
from scapy_dhcp_ext.lab import Lab  # noqa: E402


def spin(busy: bool) -> list[subprocess.Popen[bytes]]:
    """Two CPU-bound processes when ``busy`` (none when not): the machine of a busy bench."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 if busy else 0)]


def one_run(spec: str, cases: list[str] | None, busy: bool) -> tuple[dict[str, str], list[str], float]:
    """(verdict per case, wrong deads, seconds) of one sweep against a fresh lab client."""
    spinners = spin(busy)
    wrong: list[str] = []
    start = time.monotonic()
    try:
        with Lab([], clients=[spec]) as lab:
            client = lab.clients[0]
            alive_at_restart: list[tuple[float, bool]] = []

            def restart() -> None:
                alive_at_restart.append((time.time(), client.alive()))
                client.restart()

            with DhcpSession(lab.iface, state_file=False) as s:
                report = s.sweep_replies(cases, restart=restart, progress=False)
            crashes = [float(e["t"]) for e in client.events() if e["event"] == "crash"]
            for row in report.rows:
                if row.verdict != "dead":
                    continue
                end = row.started + row.seconds
                died = any(row.started <= t <= end for t in crashes)
                running = [ok for t, ok in alive_at_restart if t >= end][:1]
                if not died and (running == [True] or (not running and client.alive())):
                    wrong.append(f"{row.name}: {row.why}")
            return report.verdicts(), wrong, time.monotonic() - start
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def together(specs: list[str], cases_arg: str, busy: bool) -> dict[str, tuple[dict[str, str], list[str], float]]:
    """One round: a sweep per client, each in a process of its own, side by side, beside the
    round's CPU-bound processes (``busy``) or none."""
    spinners = spin(busy)
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        procs = {spec: subprocess.Popen([sys.executable, __file__, "--one", spec, "--cases", cases_arg],
                                        stdout=subprocess.PIPE, text=True) for spec in specs}
        got = {}
        for spec, proc in procs.items():
            out = proc.communicate()[0]
            lines = out.strip().splitlines()
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"the sweep against {spec} failed (exit {proc.returncode}): see above")
            data = json.loads(lines[-1])
            got[spec] = (data["verdicts"], data["wrong"], data["seconds"])
        return got
    finally:
        for proc in procs.values():   # stopped early: each removes its own lab (SIGTERM, see main)
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
        for p in spinners:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="runs idle and runs busy, each (default 3)")
    p.add_argument("--clients", default="udhcpc,dhcpcd,embedded")
    p.add_argument("--cases", default="all", help="all, or case names separated by commas")
    p.add_argument("--together", action="store_true", help="the clients side by side, round by round")
    p.add_argument("--one", help=argparse.SUPPRESS)   # one idle run against this client, as JSON (--together's)
    args = p.parse_args(argv)
    # killed (SIGTERM): unwind as Ctrl-C does, so that each lab, client and CPU-bound process goes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cases = None if args.cases == "all" else args.cases.split(",")
    if args.one:
        verdicts, wrong, took = one_run(args.one, cases, False)
        print(json.dumps({"verdicts": verdicts, "wrong": wrong, "seconds": took}))
        return 0
    specs = args.clients.split(",")
    runs: dict[str, list[tuple[str, dict[str, str]]]] = {spec: [] for spec in specs}
    bad = 0

    def record(spec: str, label: str, verdicts: dict[str, str], wrong: list[str], took: float) -> None:
        nonlocal bad
        runs[spec].append((label, verdicts))
        counts = {v: list(verdicts.values()).count(v) for v in sorted(set(verdicts.values()))}
        print(f"{spec:16} {label:7} {len(verdicts)} cases in {took:5.0f} s: {counts}", flush=True)
        for w in wrong:
            print(f"  WRONG dead (the device lived): {w}")
        bad += len(wrong)

    rounds = [(n, busy) for n in range(args.runs) for busy in (False, True)]
    if args.together:
        for n, busy in rounds:
            for spec, (verdicts, wrong, took) in together(specs, args.cases, busy).items():
                record(spec, f"{'busy' if busy else 'idle'} {n + 1}", verdicts, wrong, took)
    else:
        for spec in specs:
            for n, busy in rounds:
                record(spec, f"{'busy' if busy else 'idle'} {n + 1}", *one_run(spec, cases, busy))
    for spec in specs:
        names = sorted({name for _label, v in runs[spec] for name in v})
        flips = [(name, {label: v.get(name, "not run") for label, v in runs[spec]}) for name in names
                 if len({v.get(name, "not run") for _label, v in runs[spec]}) > 1]
        for name, seen in flips:
            print(f"  FLIP {spec} {name}: " + ", ".join(f"{label} {v}" for label, v in seen.items()))
        print(f"{spec}: {len(runs[spec])} runs of {len(names)} cases, {len(flips)} flipped", flush=True)
        bad += len(flips)
    print("verdict soak: " + ("passed" if not bad else f"FAILED ({bad} flips or wrong deads)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
