"""Verdicts that hold on devices as they ship (issue 25): sweep_replies()
against clients that probe with ARP, go quiet when bound, are bound already
when the sweep starts, and run on a busy machine. The oracle is each client's
own log: the embedded-style client writes what it did and why (it knows when
it was alive), udhcpc's script reports its events, and a process that died
is one that exited."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Iterator

import pytest

from scapy_dhcp_ext import DhcpSession

pytestmark = pytest.mark.lab


def during(client, row, report) -> list[dict[str, str]]:
    """The client's events from the DISCOVER that began the case to the one that began the next."""
    later = [r.started for r in report.rows if r.started > row.started]
    end = min(later) if later else float("inf")
    return [e for e in client.events() if row.started - 0.05 <= float(e["t"]) < end]


@contextlib.contextmanager
def busy_cpus(n: int = 2) -> Iterator[None]:
    """``n`` processes that spin for the block's length: the 2-CPU machine fully loaded."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_an_embedded_client_that_probes_with_arp_is_never_judged_dead(make_lab, tmp_path):
    """The embedded-style client as it ships: RFC 5227 probing for about 7 s after
    each ACK, back-off 2, 4, 8 s with one xid. Every verdict agrees with its log."""
    lab = make_lab([], clients=["embedded"])
    client = lab.clients[0]
    cases = ["opt1-mask-len-3", "bad-udp-checksum", "yiaddr-zero", "xid-mismatch", "missing-opt53",
             "forcerenew-unauthenticated", "hostname-shell"]
    with DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(cases, restart=client.restart, progress=False)   # the default probe: its traffic
    assert report.complete and [r.name for r in report.rows] == cases, report
    assert client.alive() and not [e for e in client.events() if e["event"] == "crash"]
    assert not report.failed and report.killer is None, report              # it died of nothing: no dead
    for name in ("opt1-mask-len-3", "hostname-shell"):
        row, seen = report[name], during(client, report[name], report)
        assert row.verdict == "accepted", row
        assert [e["event"] for e in seen].count("probe") == 3 and "bound" in [e["event"] for e in seen], seen
        assert "ARP probes for" in row.why and "ARP announcements of" in row.why, row.why   # the evidence in words
    dropped = during(client, report["bad-udp-checksum"], report)
    assert any(e["event"] == "dropped" and "checksum" in e.get("why", "") for e in dropped), dropped
    assert report["bad-udp-checksum"].verdict == "rejected"
    assert report["xid-mismatch"].verdict == "rejected" and report["missing-opt53"].verdict == "rejected"
    fr = during(client, report["forcerenew-unauthenticated"], report)
    assert any(e["event"] == "ignored" and e.get("type") == "FORCERENEW" for e in fr), fr
    assert report["forcerenew-unauthenticated"].verdict == "ignored", report["forcerenew-unauthenticated"]
    # Bound to 0.0.0.0 it answers no ARP and says nothing until T1: bound, not dead.
    zero = during(client, report["yiaddr-zero"], report)
    assert any(e["event"] == "bound" and e["ip"] == "0.0.0.0" for e in zero), zero
    assert report["yiaddr-zero"].verdict == "accepted", report["yiaddr-zero"]
    comments = report.comment(report["opt1-mask-len-3"], "hostile")
    assert "ARP probes for" in comments   # the pcapng comment says what decided it too


def test_the_killing_case_of_an_embedded_client_is_named_and_nothing_before_it(make_lab):
    lab = make_lab([], clients=["embedded:crash-on=option-overrun"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(["opt1-mask-len-3", "xid-mismatch", "option-past-end", "no-end"], progress=False)
    crash = [e for e in client.events() if e["event"] == "crash"]
    assert len(crash) == 1 and crash[0]["anomaly"] == "option-overrun" and not client.alive()
    assert [(r.name, r.verdict) for r in report.rows] == [
        ("opt1-mask-len-3", "accepted"), ("xid-mismatch", "rejected"), ("option-past-end", "dead")], report
    assert report.killer is report.rows[-1] and report.killer.hostile == [bytes.fromhex(crash[0]["frame"])]
    assert "the device died" in report.stopped


def test_udhcpc_bound_to_a_bogus_address_is_waited_for_not_named_the_killer(make_lab):
    """No restart=, the default probe: udhcpc takes yiaddr 0.0.0.0 and is quiet
    until T1. The sweep waits to T2 of the lease, sees the renewal, and goes on."""
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(["yiaddr-zero", "xid-mismatch"], progress=False)
    assert report.complete and report.killer is None and client.alive(), report
    assert report["yiaddr-zero"].verdict == "accepted" and "renewed" in report["yiaddr-zero"].why
    assert any(e["event"] == "bound" and e["ip"] == "0.0.0.0" for e in client.events())


def test_a_sweep_started_while_the_device_is_bound_runs_every_case_on_a_busy_machine(make_lab):
    """udhcpc bound to a server of ours before the sweep, the machine's CPUs
    busy: the sweep restarts it (its renewal would get a NAK), measures its
    retries from there, and runs every case of the catalog."""
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s:
        s.serve(lease_time=8).wait_lease(timeout=20)
        s.server.stop()
        with busy_cpus():
            report = s.sweep_replies(restart=client.restart, renew=client.renew, probe=client.alive, lease_time=8,
                                     progress=False)
    assert report.complete and report.killer is None and not report.stopped, report
    assert {r.verdict for r in report.rows} <= {"accepted", "rejected", "ignored"}, report
    assert 0.8 < report.retry < 1.5, report.retry   # -T 1, measured after it was brought back


def test_without_restart_a_bound_device_is_naked_back_to_discover_on_a_busy_machine(make_lab):
    """No restart=: udhcpc, bound before the sweep, is asked to renew (renew=) and its REQUEST
    gets a NAK; every case of each phase runs, its process never restarted (its PID, its events)."""
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    cases = ["opt1-mask-len-3", "xid-mismatch", "yiaddr-zero", "bad-udp-checksum", "hostname-shell",
             "missing-opt53", "lease-zero", "nak-during-renewing", "forcerenew-unauthenticated", "no-end"]
    with DhcpSession(lab.iface, state_file=False) as s:
        s.serve(lease_time=8).wait_lease(timeout=20)
        s.server.stop()
        client.wait_event("bound", timeout=10)   # its script has run: it is bound
        pid, bound = client.proc.pid, len(client.events())
        with busy_cpus():
            report = s.sweep_replies(cases, restart=None, renew=client.renew, lease_time=8, progress=False)
    assert report.complete and report.killer is None and not report.stopped, report
    assert [r.name for r in report.rows] == cases and not report.failed, report
    assert client.alive() and client.proc.pid == pid                   # never restarted
    assert client.events()[bound]["event"] == "nak", client.events()[bound:bound + 3]   # its renewal: a NAK first
    assert report["yiaddr-zero"].verdict == "accepted" and report["forcerenew-unauthenticated"].verdict == "ignored"


@pytest.mark.parametrize("spec", ["udhcpc:shipped", "dhcpcd:shipped"])
def test_clients_as_debian_ships_them_probing_with_arp_get_the_verdicts_their_events_show(make_lab, spec):
    """udhcpc -a and dhcpcd with its ARP probing on, default timers: a case of each
    phase and each verdict, every one checked against what the client reported."""
    lab = make_lab([], clients=[spec])
    client = lab.clients[0]
    cases = ["opt1-mask-len-3", "xid-mismatch", "forcerenew-unauthenticated", "yiaddr-zero"]
    with DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(cases, restart=client.restart, progress=False)
    assert 1.0 <= report.retry <= 5.5, report.retry   # udhcpc: 3 s, dhcpcd: 4 +/- 1 (never a restart's gap)
    assert report.complete and not report.failed and report.killer is None, report
    assert "ARP probes for" in report["opt1-mask-len-3"].why, report["opt1-mask-len-3"]   # it probed, and lived
    assert report["forcerenew-unauthenticated"].verdict == "ignored"   # neither takes an unauthenticated one
    if spec.startswith("dhcpcd"):   # it got it (with its last xid: dhcpcd drops any other) and said why it ignored it
        assert "unauthenticated Force Renew" in client.log, client.log
    for row in report.rows:
        seen = [e["event"] for e in during(client, row, report)]
        if row.phase == "offer":
            assert row.verdict == "rejected" and "bound" not in seen, (row.name, row.why, seen)
        if row.phase == "ack":
            assert ("bound" in seen) == (row.verdict == "accepted"), (row.name, row.verdict, row.why, seen)


def test_udhcpc_as_shipped_pausing_after_its_third_try_is_not_called_dead(make_lab):
    """BusyBox udhcpc as Debian runs it tries 3 times, 3 s apart, then waits 20 s (-A) and starts
    again with a new xid. Five OFFERs in a row that it drops: one of them meets its third try, and
    the sweep must wait out the pause (it called udhcpc dead there in the first soak of the whole
    catalog as shipped). tshark sees the pause; udhcpc's process lives throughout."""
    from tests.support.witness import Capture
    from tests.test_check_client import FIELDS, frames

    lab = make_lab([], clients=["udhcpc:shipped"])
    client = lab.clients[0]
    cases = ["bad-udp-checksum", "udp-length-past-ip", "hlen-0", "xid-mismatch", "chaddr-mismatch"]
    with Capture(lab.netns, "c0", lab.iface, FIELDS) as cap, DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(cases, progress=False)   # no restart=: nothing to hide a wrong dead behind
    assert report.complete and report.killer is None and client.alive(), report
    assert report.verdicts() == dict.fromkeys(cases, "rejected"), report
    discovers = [(t, r["dhcp.id"]) for t, k, r in frames(cap, client.mac) if k == "DISCOVER"]
    pauses = [b[0] - a[0] for a, b in zip(discovers, discovers[1:]) if a[1] != b[1]]
    assert any(p > 15.0 for p in pauses), discovers   # a case met its pause, and was waited through


def test_an_embedded_client_requests_an_offer_before_a_nak_right_behind_it_on_a_busy_machine(make_lab):
    """nak-unselected-server: the OFFER, then at once a NAK from another server. The embedded
    client sends its REQUEST from the OFFER's handler, so the NAK always meets it sent: accepted,
    idle and busy (it once sent the REQUEST from its timer loop, and under load a NAK read in the
    same breath came first: the verdict soak saw it flip). Its own log gives the order."""
    lab = make_lab([], clients=["embedded"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s:
        for busy in (False, True):
            with busy_cpus(2 if busy else 0):
                report = s.sweep_replies(["nak-unselected-server"], restart=client.restart, progress=False)
            row = report["nak-unselected-server"]
            assert row.verdict == "accepted", (busy, row)
            seen = [e["event"] for e in during(client, row, report)]
            assert seen.index("offer") < seen.index("request") < seen.index("nak"), seen


def test_nothing_begins_on_the_process_a_slow_restart_is_stopping(make_lab):
    """restart() on a board can take seconds before the old firmware stops (a power relay, a
    console command): udhcpc, not answered, runs out of REQUEST tries and DISCOVERs again meanwhile.
    No case may begin on that DISCOVER (the old code began one there and judged the new process's
    first DISCOVER as its answer), nor may the old process be answered (a NAK would hurry it on)."""
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    windows: list[tuple[float, float]] = []

    def slow_restart() -> None:
        asked = time.time()
        discovers = client.log.count("broadcasting discover")   # BusyBox's own line for each DISCOVER
        deadline = time.monotonic() + 15
        while client.log.count("broadcasting discover") == discovers and time.monotonic() < deadline:
            time.sleep(0.05)   # until the old process DISCOVERs on its own: the stimulus of this test
        client.restart()
        windows.append((asked, time.time()))

    cases = ["udp-checksum-zero", "pad-run-250", "ethernet-trailer"]
    with DhcpSession(lab.iface, state_file=False) as s:
        report = s.sweep_replies(cases, restart=slow_restart, probe=client.alive, progress=False)
    assert report.complete and [r.verdict for r in report.rows] == ["accepted"] * 3, report
    assert len(windows) >= 2, windows   # the first two were accepted (a REQUEST): restarted after each
    for row in report.rows:
        assert not any(asked <= row.started <= returned for asked, returned in windows), (row.name, windows)
    naks = [e for e in client.events() if e["event"] == "nak"]   # udhcpc's script: each NAK it read
    assert not any(asked <= float(e["t"]) <= returned for e in naks for asked, returned in windows), (naks, windows)
