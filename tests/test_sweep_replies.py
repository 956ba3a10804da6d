"""sweep_replies() against real DHCP clients in the lab: every verdict is
checked against what the client itself reported (its script's events), and a
fragile client that dies on one case is named as the killer with the bytes it
received."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import LabError
from scapy_dhcp_ext.workloads.reply_cases4 import catalog
from tests.support import running_in

pytestmark = pytest.mark.lab


def events_during(client, row, report=None) -> list[str]:
    """What the client reported while the case ran (its own events, by their
    time): from the DISCOVER that began it to the one that began the next case
    (dhcpcd configures the address, which answers our ARP, before its script
    reports "bound"), or to the verdict when there is no report to look in."""
    end = row.started + row.seconds
    if report is not None:
        later = [r.started for r in report.rows if r.started > row.started]
        end = min(later) if later else float("inf")
        if not later and row.verdict == "accepted":
            # The last case: nothing follows it, and its verdict may land (the address answers ARP)
            # before the client's script reports, later still on a busy machine: wait for the report.
            first = next((k for k, e in enumerate(client.events()) if float(e["t"]) >= row.started), None)
            try:
                client.wait_event("bound", timeout=30.0, after=len(client.events()) if first is None else first)
            except LabError:
                pass   # then the assertion below says what it reported
    return [e["event"] for e in client.events() if row.started <= float(e["t"]) < end]


def test_the_whole_catalog_against_udhcpc_agrees_with_what_udhcpc_reports(make_lab, tmp_path):
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=str(tmp_path / "state.json")) as s:
        s.serve(lease_time=8).wait_lease(timeout=20)   # bound when the sweep starts, as a board usually is
        s.server.stop()
        report = s.sweep_replies(probe=client.alive, restart=client.restart, renew=client.renew, progress=False)
        assert report.complete and len(report.rows) == len(catalog()) >= 45
        assert {r.verdict for r in report.rows} <= {"accepted", "rejected", "ignored"}, report   # it survives them all
        assert report.killer is None and report.retry and 0.8 < report.retry < 1.3   # -T 1
        for row in report.rows:
            seen = events_during(client, row, report)
            if row.phase == "ack" and row.verdict == "accepted":
                assert "bound" in seen, (row.name, seen)     # it said so itself: it ran its bound script
            if row.phase in ("offer", "ack") and row.verdict == "rejected":
                assert "bound" not in seen, (row.name, seen)
            assert row.hostile, row.name
        for name in ("xid-mismatch", "chaddr-mismatch", "bad-udp-checksum", "missing-opt53"):
            assert report[name].verdict == "rejected", report[name]
        assert report["nak-during-renewing"].verdict == "accepted"
        assert "nak" in events_during(client, report["nak-during-renewing"])
        assert report["forcerenew-unauthenticated"].verdict == "ignored"   # udhcpc has no FORCERENEW
        assert "it ignored the FORCERENEW" in report["forcerenew-unauthenticated"].why

        pcap = report.to_pcap(str(tmp_path / "replies.pcapng"))
        comments = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.comment"],
                                  capture_output=True, text=True, check=True).stdout.splitlines()
        assert len(comments) == sum(len(r.frames) for r in report.rows)
        assert any(c.startswith("hostname-shell (CVE-2011-0997): accepted; the case's reply") for c in comments)
        assert s.last is report and '"killer": null' in report.to_json()


def test_beside_a_server_of_ours_the_renew_case_renews_udhcpc_with_the_sessions_renew(make_lab):
    """The lab-client shell's way: serve() first (hour-long leases), then
    sweep_replies() on that server with the session's renew_device. The renew
    case renews udhcpc once it has taken the ACK (asked earlier, while it is
    still REQUESTING, udhcpc goes back to DISCOVER and the case never comes)."""
    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s:
        s.restart_device, s.renew_device = client.restart, client.renew   # as the --lab-client shell sets them
        s.serve().wait_lease(timeout=20)
        report = s.sweep_replies(["nak-during-renewing", "lease-zero", "nak-during-renewing"], progress=False)
    assert [r.verdict for r in report.rows] == ["accepted"] * 3, report
    for row in report.rows[::2]:
        seen = events_during(client, row, report)
        assert seen[:2] == ["bound", "nak"], seen   # udhcpc itself: bound on the case's ACK, then its renewal NAKed


def test_some_cases_against_dhcpcd_agree_with_what_dhcpcd_reports(make_lab, tmp_path):
    lab = make_lab([], clients=["dhcpcd"])
    client = lab.clients[0]
    cases = ["xid-mismatch", "missing-opt53", "opt1-mask-len-3", "hostname-shell", "yiaddr-zero", "lease-zero"]
    with DhcpSession(lab.iface, state_file=False) as s:
        # dhcpcd retransmits after 4 s, give or take 1 (RFC 2131 4.1): 5 s is its longest first interval.
        report = s.sweep_replies(cases, probe=client.alive, restart=client.restart, retry=5.0, progress=False)
    assert report.complete and [r.name for r in report.rows] == cases
    assert report["xid-mismatch"].verdict == "rejected"
    # With no option 53 the OFFER is a BOOTP reply to dhcpcd: it binds the address with no REQUEST.
    assert report["missing-opt53"].verdict == "accepted" and "BOOTP" in report["missing-opt53"].why
    for row in report.rows:
        seen = events_during(client, row, report)
        assert ("bound" in seen) == (row.verdict == "accepted"), (row.name, row.verdict, row.why, seen)


def test_a_client_that_dies_is_named_with_the_frames_that_killed_it(make_lab, tmp_path):
    lab = make_lab([], extra=1)
    killed = tmp_path / "killed.hex"
    mac = "02:5c:de:ad:00:01"
    with running_in(lab.extra_netns[0], "fragile_client", "eth0", mac, str(killed),
                    ready=killed.with_suffix(".ready")) as device:
        with DhcpSession(lab.iface, state_file=False) as s:
            report = s.sweep_replies(["xid-mismatch", "hostname-shell", "option-past-end", "no-end"], device_mac=mac,
                                     retry=1.0, progress=False)
        assert [(r.name, r.verdict) for r in report.rows] == [
            ("xid-mismatch", "rejected"), ("hostname-shell", "accepted"), ("option-past-end", "dead")], report
        assert report.killer is report.rows[-1] and [c.name for c in report.remaining] == ["no-end"]
        assert report.killer.hostile == [bytes.fromhex(killed.read_text())]   # exactly what it choked on
        assert "killer: option-past-end" in repr(report) and not report.complete
        assert device.wait(5) == 0


def test_the_magic_runs_named_cases_and_writes_a_commented_pcapng(make_lab, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    lab = make_lab([], clients=["udhcpc"])
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    session = DhcpSession(lab.iface, state_file=False)
    try:
        shell.user_ns.update(dhcp=session, lab=lab)
        shell.run_line_magic("load_ext", "scapy_dhcp_ext")
        pcap = tmp_path / "r.pcapng"
        result = shell.run_cell(f"%dhcp_sweep_replies xid-mismatch,domain-shell --probe lab.clients[0].alive "
                                f"--restart lab.clients[0].restart --no-progress --pcap {pcap}")
        result.raise_error()
        report = result.result
        assert report.verdicts() == {"xid-mismatch": "rejected", "domain-shell": "accepted"}
        out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.comment"],
                             capture_output=True, text=True, check=True).stdout
        assert "domain-shell (CVE-2018-1111): accepted; the case's reply" in out
        shell.run_line_magic("unload_ext", "scapy_dhcp_ext")
    finally:
        session.close()
        InteractiveShell.clear_instance()


def test_ctrl_c_gives_a_partial_report_and_a_new_session_resumes_the_rest(make_lab, tmp_path):
    import signal
    import threading

    lab = make_lab([], clients=["udhcpc"])
    client = lab.clients[0]
    state = str(tmp_path / "state.json")
    cases = ["xid-mismatch", "hostname-shell", "missing-opt53", "lease-zero", "chaddr-mismatch", "domain-shell"]
    s = DhcpSession(lab.iface, state_file=state)

    def ctrl_c_after_two_verdicts() -> None:   # as a person would press it, mid-sweep
        deadline = time.monotonic() + 30
        while len((s.endpoint.notes.get("sweep_replies") or {}).get("verdicts", {})) < 2:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=ctrl_c_after_two_verdicts)
    presser.start()
    report = s.sweep_replies(cases, probe=client.alive, restart=client.restart, progress=False)
    presser.join()
    assert report.interrupted and 2 <= len(report.rows) < len(cases) and report.remaining
    assert "sweep_replies(resume=True)" in repr(report)
    before = report.verdicts()
    s.close()   # the session goes; the state file keeps the sweep

    again = DhcpSession(lab.iface, state_file=state)
    rest = again.sweep_replies(resume=True, probe=client.alive, restart=client.restart, progress=False)
    assert rest.sweep_id == report.sweep_id and rest.complete
    assert [r.name for r in rest.rows] == cases
    assert {k: v for k, v in rest.verdicts().items() if k in before} == before
    assert rest["xid-mismatch"].verdict == "rejected" and rest["domain-shell"].verdict == "accepted"
    again.close()
