"""sweep_replies6() against the lab's real DHCPv6 clients, each verdict held against what the
client itself says: dhcpcd's log (one "ADV" line per ADVERTISE it took) and hook events,
and WIDE dhcp6c's debug log, which names why it dropped each message it did not take."""

from __future__ import annotations

import math
import re
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab.clients6 import _epoch
from scapy_dhcp_ext.wire.frames6 import parse_frame6

pytestmark = pytest.mark.lab


def bound_during(client, row, rows) -> list[dict[str, str]]:
    """The client's bound6 events from the second the case began to the next case (its clock: whole seconds)."""
    later = [r.started for r in rows if r.started > row.started]
    end = min(later) if later else math.inf
    return [e for e in client.events() if e.get("event") == "bound6" and math.floor(row.started) <= float(e["t"]) < end]


def test_cases_against_dhcpcd6_agree_with_what_dhcpcd_logs(make_lab, tmp_path):
    cases = ["advertise-no-server-id", "advertise-wrong-xid", "advertise-server-duid-1", "advertise-status-64k",
             "advertise-relay-repl-33", "reply-other-client-id", "reply-dns-servers-17", "reply-pd-exclude-121",
             "bound-reconfigure-unauthenticated"]
    lab = make_lab([], clients=["dhcpcd6"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=str(tmp_path / "state.json")) as s:
        r = s.v6.sweep_replies(cases, restart=client.restart, probe=client.alive, progress=False)
    assert r.complete and sorted(x.name for x in r.rows) == sorted(cases), r
    assert {x.verdict for x in r.rows} <= {"accepted", "rejected", "ignored"} and r.killer is None, r
    verdict = {x.name: x.verdict for x in r.rows}
    # RFC 8415 16 and 15: what a client must discard, dhcpcd discards
    for name in ("advertise-no-server-id", "advertise-wrong-xid", "advertise-relay-repl-33", "reply-other-client-id"):
        assert verdict[name] == "rejected", r[name]
    time.sleep(1.0)   # its hook events land within a second of its log
    log = client.log
    # one "ADV" line per ADVERTISE dhcpcd took: the advertise cases judged accepted, and the valid one before each
    # REPLY case and the bound case
    took = sum(1 for x in r.rows if x.phase != "advertise" or x.verdict == "accepted")
    assert len(re.findall(r"^eth0: ADV ", log, re.M)) == took, (verdict, log[-3000:])
    for row in r.rows:
        assert row.hostile, row.name
        if row.phase == "reply":
            bound = [e for e in bound_during(client, row, r.rows) if e.get("ip6")]
            assert bool(bound) == (row.verdict == "accepted"), (row.name, row.verdict, bound)
    reconfigure = r["bound-reconfigure-unauthenticated"]
    assert reconfigure.verdict == "ignored" and "unauthenticated RECONFIGURE6" in log
    sent = parse_frame6(reconfigure.hostile[0])
    assert sent.type_name == "RECONFIGURE" and sent.msg is not None and sent.msg.first(11) is None   # no Auth


DROPPED = re.compile(r"failed to parse options|mismatch|no server ID option|unexpected message")


def log_lines(log: str, start: float, end: float) -> list[str]:
    """dhcp6c's log lines stamped within [start, end] (its stamps are whole seconds)."""
    out = []
    for line in log.splitlines():
        m = re.match(r"^(\w{3}/\d\d/\d{4} \d\d:\d\d:\d\d): (.*)$", line)
        if m and math.floor(start) <= _epoch(m.group(1)) <= math.ceil(end):
            out.append(m.group(2))
    return out


def test_cases_against_dhcp6c_as_debian_ships_it_agree_with_the_reasons_it_logs(make_lab, tmp_path):
    """dhcp6c with the kernel's duplicate address detection on: a REPLY it takes shows as DAD for the address."""
    cases = ["advertise-wrong-xid", "advertise-iaaddr-short", "reply-other-client-id", "reply-dns-servers-17",
             "reply-lifetimes-infinite", "bound-reconfigure-unauthenticated"]
    lab = make_lab([], clients=["dhcp6c:shipped"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=str(tmp_path / "state.json")) as s:
        r = s.v6.sweep_replies(cases, restart=client.restart, probe=client.alive, progress=False)
    assert r.complete and r.killer is None, r
    verdict = {x.name: x.verdict for x in r.rows}
    assert verdict == {"advertise-wrong-xid": "rejected", "advertise-iaaddr-short": "rejected",
                       "reply-other-client-id": "rejected", "reply-dns-servers-17": "rejected",
                       "reply-lifetimes-infinite": "accepted", "bound-reconfigure-unauthenticated": "ignored"}, r
    log = client.log
    for row in r.rows:
        lines = log_lines(log, row.started, row.started + row.seconds)
        if row.verdict == "rejected":   # dhcp6c says why it dropped it, while the case ran
            assert any(DROPPED.search(x) for x in lines), (row.name, lines)
    took = r["reply-lifetimes-infinite"]
    assert [e for e in bound_during(client, took, r.rows) if e.get("vltime") == str(0xFFFFFFFF)], client.events()
    assert "received an unexpected message (reconfigure)" in log
