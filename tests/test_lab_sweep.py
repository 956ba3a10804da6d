"""Sweeps against real servers, checked independently over a plain raw socket,
and against a fake device that dies on a given case."""

from __future__ import annotations

import random

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support import running_in
from tests.support.plain import replay

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


def test_the_length_sweep_matches_a_plain_replay_of_every_row_kind(lab, session):
    report = session.sweep_lengths(progress=False)
    assert report.complete and report.killer is None and all(r.alive for r in report.rows)
    rows = {r.name: r for r in report.rows}
    mtu_top = 1500 - 28
    assert len(rows) == 28 + (mtu_top + 1) + 6 + 10
    kinds = {r.kind for r in report.rows}
    assert kinds == {"header-cut", "length", "fragmented", "lie"}
    first = report.first_answered
    boundaries = {0, 1, 235, 236, 239, 240, 241, first - 2, first - 1, first, first + 1, 299, 300, 301,
                  576, mtu_top - 1, mtu_top}
    chosen = [r for r in report.rows if r.kind in ("header-cut", "lie", "fragmented")]
    chosen += [rows[f"len-{n:05d}"] for n in sorted(boundaries)]
    chosen += random.Random(7).sample([r for r in report.rows if r.kind == "length"], 10)
    chaddr = bytes.fromhex(session.mac.replace(":", ""))
    for row in chosen:
        xid = parse_frame(row.frames[0]).xid if row.kind != "header-cut" else None
        really = replay(lab.iface, row.frames, chaddr, xid)
        assert sorted(really) == sorted(row.reply_types), f"{row.name}: the sweep saw {row.outcome}, " \
                                                           f"a plain replay {really or 'no reply'}"


def test_the_malformed_sweep_matches_a_plain_replay_of_every_case(lab, session):
    report = session.sweep_malformed(progress=False)
    assert report.complete and all(r.alive for r in report.rows) and len(report.rows) >= 58
    assert 0 < len(report.answered_cases) < len(report.rows)  # some are answered, some are not
    chaddr = bytes.fromhex(session.mac.replace(":", ""))
    for row in report.rows:
        really = replay(lab.iface, row.frames, chaddr, parse_frame(row.frames[0]).xid)
        assert sorted(really) == sorted(row.reply_types), f"{row.name}: the sweep saw {row.outcome}, " \
                                                           f"a plain replay {really or 'no reply'}"
    assert session.dora().status == "bound"


def test_a_device_that_dies_is_named_with_the_bytes_that_killed_it(make_lab, tmp_path):
    lab = make_lab([], extra=1)
    killed = tmp_path / "killed.hex"
    with running_in(lab.extra_netns[0], "fake_device", "eth0", "250", str(killed),
                    ready=killed.with_suffix(".ready")):
        with DhcpSession(lab.iface, state_file=False) as s:
            report = s.sweep_lengths(range(240, 270), headers=False, lies=False, progress=False, timeout=0.3)
        assert report.killer is not None and report.killer.name == "len-00250"
        assert report.rows[-1] is report.killer and not report.killer.alive
        assert all(r.alive for r in report.rows[:-1]) and report.answered_lengths == list(range(243, 250))
        assert report.killer.frames[0].hex() == killed.read_text()  # exactly the bytes that killed it
        assert len(report.remaining) == 19 and "stopped answering after len-00250" in repr(report)


@pytest.mark.parametrize("probe", ["arp", "icmp", "callable"])
def test_probes_the_kernel_answers_lose_no_answer_to_a_case(make_lab, tmp_path, probe):
    """dnsmasq's kernel answers ARP and ICMP before dnsmasq reads the case: the
    barrier DISCOVER still gives every case its OFFER, checked over a plain socket."""
    lab = make_lab("dnsmasq")
    with DhcpSession(lab.iface, state_file=False) as s:
        s.dora()
        calls = []
        chosen = (lambda host: calls.append(host) or True) if probe == "callable" else probe
        report = s.sweep_lengths(range(290, 330), probe=chosen, progress=False)
        assert report.complete and all(r.alive for r in report.rows)
        assert report.answered_lengths == list(range(290, 330))
        assert all(r.reply_types == ["OFFER"] and not r.note for r in report.rows)
        assert probe != "callable" or len(calls) == 40
        chaddr = bytes.fromhex(s.mac.replace(":", ""))
        for row in report.rows[::7] + [report.rows[-1]]:
            assert replay(lab.iface, row.frames, chaddr, parse_frame(row.frames[0]).xid) == ["OFFER"]
