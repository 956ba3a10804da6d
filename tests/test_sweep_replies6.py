"""sweep_replies6()'s whole catalog against both lab DHCPv6 clients, each verdict held against
what the client itself says: dhcpcd's log (one "ADV" line per ADVERTISE it took) and hook
events, and WIDE dhcp6c's debug log, which names why it dropped each message it did not take."""

from __future__ import annotations

import math
import re
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab.clients6 import _epoch
from scapy_dhcp_ext.wire.frames6 import parse_frame6
from scapy_dhcp_ext.workloads.reply_cases6 import catalog6

pytestmark = pytest.mark.lab
MUST_DROP = ("advertise-no-server-id", "advertise-no-client-id", "reply-no-client-id", "advertise-other-client-id",
             "reply-other-client-id", "advertise-wrong-xid", "reply-wrong-xid", "advertise-relay-repl-32",
             "advertise-relay-repl-33", "advertise-bad-udp-checksum", "advertise-reply-to-solicit",
             "advertise-noaddrs-preference-255")   # RFC 8415 15, 16 and 18.2.9: what a client must discard


def bound_during(client, row, rows) -> list[dict[str, str]]:
    """The client's bound6 events with an address it may use, from the second the case began to the next case
    (its clock: whole seconds)."""
    later = [r.started for r in rows if r.started > row.started]
    end = min(later) if later else math.inf
    return [e for e in client.events() if e.get("event") == "bound6" and math.floor(row.started) <= float(e["t"]) < end
            and e.get("vltime") != "0"]   # lifetimes 0 (dhcpcd runs its script, then lets the lease expire): none


def survived(r) -> None:
    assert r.complete and r.killer is None, r
    assert {x.verdict for x in r.rows} <= {"accepted", "rejected", "ignored"}, r
    for name in MUST_DROP:
        assert r[name].verdict == "rejected", r[name]
    for row in r.rows:
        assert row.hostile, row.name


def test_the_whole_catalog_against_dhcpcd6_agrees_with_what_dhcpcd_logs(make_lab, tmp_path):
    lab = make_lab([], clients=["dhcpcd6"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=str(tmp_path / "state.json")) as s:
        # the flood on its own: how many of 200 ADVERTISEs dhcpcd logs before it REQUESTs is its own affair
        r = s.v6.sweep_replies(skip=["advertise-flood"], restart=client.restart, probe=client.alive,
                               progress=False)
        log = client.log
        flood = s.v6.sweep_replies(["advertise-flood"], restart=client.restart, probe=client.alive, progress=False)
    assert len(r.rows) == len(catalog6()) - 1 >= 70 and flood.complete and flood.killer is None, flood
    survived(r)
    # one "ADV" line per ADVERTISE dhcpcd took: the advertise cases judged accepted, and the valid one before each
    # REPLY case and the bound case
    took = sum(1 for x in r.rows if x.phase != "advertise" or x.verdict == "accepted")
    assert len(re.findall(r"^eth0: ADV ", log, re.M)) == took, ({x.name: x.verdict for x in r.rows}, log[-3000:])
    time.sleep(1.0)   # its hook events land within a second of its log
    for row in r.rows:
        if row.phase == "reply" and row.name != "reply-many-addresses":
            assert bool(bound_during(client, row, r.rows)) == (row.verdict == "accepted"), (row.name, row.why)
    # 100 addresses take dhcpcd longer to configure than the sweep waits before it restarts it, so its script
    # may never report them; its log says it added the last one
    assert r["reply-many-addresses"].verdict == "accepted" and "adding address fd77::1063/128" in log
    reconfigure = r["bound-reconfigure-unauthenticated"]
    assert reconfigure.verdict == "ignored" and "unauthenticated RECONFIGURE6" in log
    sent = parse_frame6(reconfigure.hostile[0])
    assert sent.type_name == "RECONFIGURE" and sent.msg is not None and sent.msg.first(11) is None   # no Auth


DROPPED = re.compile(r"failed to parse options|mismatch|no (server|client) ID option|unexpected message|malformed|"
                     r"NoAddrsAvail|is invalidated|status code")


def log_lines(log: str, start: float, end: float) -> list[str]:
    """dhcp6c's log lines stamped within [start, end] (its stamps are whole seconds)."""
    out = []
    for line in log.splitlines():
        m = re.match(r"^(\w{3}/\d\d/\d{4} \d\d:\d\d:\d\d): (.*)$", line)
        if m and math.floor(start) <= _epoch(m.group(1)) <= math.ceil(end):
            out.append(m.group(2))
    return out


def timeline(row, rows) -> str:
    """When the case began and ended, its frames, and when the next case began: what a failure needs."""
    later = [r.started for r in rows if r.started > row.started]
    frames = ", ".join(f"{d} {t - row.started:+.3f}" for d, _raw, t in row.frames)
    return (f"started {row.started:.3f}, ended +{row.seconds:.3f}, next case at "
            f"{(min(later) - row.started if later else math.inf):+.3f}; frames: {frames}")


def test_the_whole_catalog_against_dhcp6c_as_debian_ships_it_agrees_with_the_reasons_it_logs(make_lab, tmp_path):
    """dhcp6c with the kernel's duplicate address detection on, as Debian runs it."""
    lab = make_lab([], clients=["dhcp6c:shipped"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=str(tmp_path / "state.json")) as s:
        r = s.v6.sweep_replies(restart=client.restart, probe=client.alive, progress=False)
    assert len(r.rows) == len(catalog6())
    survived(r)
    log = client.log
    for row in r.rows:
        lines = log_lines(log, row.started, row.started + row.seconds)
        if row.phase == "advertise" and row.verdict == "accepted":
            assert any("send request" in x for x in lines), \
                f"{row.name}: {row.why}\n{timeline(row, r.rows)}\n" + "\n".join(lines)
        elif row.phase == "reply" and row.verdict == "accepted":
            assert bound_during(client, row, r.rows), (row.name, row.why)
        elif row.verdict == "rejected":
            # dhcp6c says why it dropped what it read; what the kernel dropped (a bad checksum) it never read
            assert any(DROPPED.search(x) for x in lines) or not any("receive" in x for x in lines[1:]), \
                f"{row.name}: {row.why}\n{timeline(row, r.rows)}\n" + "\n".join(lines)
    assert r["bound-reconfigure-unauthenticated"].verdict == "ignored"
    assert "received an unexpected message (reconfigure)" in log
