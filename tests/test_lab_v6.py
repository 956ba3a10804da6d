"""The DHCPv6 client against Kea DHCPv6 and dnsmasq in the v6 lab. Each
outcome is read where the server keeps it: its lease database (Kea's
leases6.csv, dnsmasq's lease file) or its log, and frames are read back with
Scapy's own DHCPv6 layers, not with the code under test."""

from __future__ import annotations

import time

import pytest
from scapy.layers.dhcp6 import DHCP6_RelayReply, DHCP6OptIfaceId, DHCP6OptRapidCommit, DHCP6OptStatusCode
from scapy.layers.l2 import Ether

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.wire.frames6 import parse_frame6
from scapy_dhcp_ext.wire.messages6 import Relay6

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module", params=["kea6", "dnsmasq6"])
def lab6(request):
    from tests.conftest import _need_root

    _need_root()
    with Lab(request.param) as lab:
        yield lab


@pytest.fixture
def client6(lab6, tmp_path):
    s = DhcpSession(lab6.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
    s.new_mac()   # a client of its own: the module's lab keeps earlier tests' leases
    yield s
    s.close()


@pytest.fixture
def v6(client6):
    return client6.v6


def rows_for(lab: Lab, duid: bytes, *, every: bool = False, wait: float = 3.0, want=lambda rows: rows):
    """The server's rows for this DUID, once ``want`` is true of them (dnsmasq
    writes its lease file a moment after it answers)."""
    deadline = time.monotonic() + wait
    while True:
        rows = [r for r in lab.servers[0].leases6(every=every) if r.duid == duid.hex()]
        if want(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_sarr_ia_na_is_in_the_lease_database(lab6, v6):
    r = v6.sarr()
    assert r.status == "bound" and r.lease.address.startswith("fd77:1::")
    assert [s.type_name for s in (r.steps[0].received[0], r.steps[1].received[0])] == ["ADVERTISE", "REPLY"]
    rows = rows_for(lab6, v6.duid)
    assert [(x.address, x.iaid) for x in rows] == [(r.lease.address, v6.iaid_na)]
    assert r.lease.t1 and r.lease.t2 and r.lease.t1 <= r.lease.t2


def test_sarr_ia_pd_where_the_server_delegates(lab6, v6):
    r = v6.sarr(ia_na=True, ia_pd=True)
    if lab6.kinds[0] == "dnsmasq6":   # dnsmasq does not delegate prefixes: the address alone
        assert r.status == "bound" and r.lease.prefix is None and r.lease.address
        return
    assert r.lease.prefix.endswith("/56") and r.lease.prefix.startswith("fd77:1:2")
    rows = {x.kind: x for x in rows_for(lab6, v6.duid, want=lambda rows: len(rows) == 2)}
    assert rows["PD"].prefix == r.lease.prefix and rows["PD"].iaid == v6.iaid_pd
    assert rows["NA"].address == r.lease.address


def test_prefix_delegation_only(lab6, v6):
    r = v6.sarr(ia_na=False, ia_pd=True)
    if lab6.kinds[0] == "kea6":
        assert r.status == "bound" and r.lease.address is None and r.lease.prefix
        assert [(x.kind, x.prefix) for x in rows_for(lab6, v6.duid)] == [("PD", r.lease.prefix)]
    else:   # a server that does not delegate: refused, in its own words, and nothing requested
        assert r.status == "refused" and "no addresses" in r.note and len(r.sent) == 1
        assert not rows_for(lab6, v6.duid, wait=0.3)


@pytest.mark.parametrize("how", ["renew", "rebind"])
def test_renew_and_rebind_extend_the_lease_in_the_database(lab6, v6, how):
    v6.sarr()
    before = rows_for(lab6, v6.duid)[0].expires
    time.sleep(1.2)   # the databases count whole seconds
    r = getattr(v6, how)()
    assert r.status == "bound" and r.lease.address == rows_for(lab6, v6.duid)[0].address
    after = rows_for(lab6, v6.duid, want=lambda rows: rows and rows[0].expires > before)
    assert after[0].expires > before


def test_release_removes_the_lease_from_the_database(lab6, v6):
    v6.sarr()
    assert rows_for(lab6, v6.duid)
    r = v6.release()
    assert r.status == "answered" and v6.lease is None
    assert rows_for(lab6, v6.duid, want=lambda rows: not rows) == []
    status = Ether(r.reply.raw)[DHCP6OptStatusCode]
    assert status.statuscode == 0


def test_decline_marks_the_address_declined(lab6, v6):
    r = v6.sarr()
    address = r.lease.address
    d = v6.decline()
    assert d.status == "answered" and v6.lease is None
    if lab6.kinds[0] == "kea6":   # Kea keeps the address, declined (state 1), out of use
        rows = [x for x in lab6.servers[0].leases6(every=True) if x.address == address]
        assert rows and rows[-1].state == 1
    else:
        assert "DHCPDECLINE" in lab6.servers[0].log
        assert rows_for(lab6, v6.duid, want=lambda rows: not rows) == []


def test_confirm_on_link_and_not_on_link(lab6, v6):
    v6.sarr()
    r = v6.confirm()
    assert r.status == "answered" and Ether(r.reply.raw)[DHCP6OptStatusCode].statuscode == 0
    if lab6.kinds[0] == "dnsmasq6":
        assert "DHCPCONFIRM" in lab6.servers[0].log
    v6.lease.ias[0].addresses[0]["address"] = "2001:db8::1"   # as if the cable went to another link
    r = v6.confirm()
    assert r.status == "refused" and Ether(r.reply.raw)[DHCP6OptStatusCode].statuscode == 4   # NotOnLink


def test_rapid_commit_is_one_solicit_and_one_reply(lab6, v6):
    r = v6.sarr(rapid_commit=True)
    assert r.status == "bound" and "rapid commit" in r.note
    assert len(r.sent) == 1 and len(r.received) == 1
    assert Ether(r.received[0].raw).haslayer(DHCP6OptRapidCommit)
    assert [x.address for x in rows_for(lab6, v6.duid)] == [r.lease.address]


def test_relay_forward_and_reply(lab6, v6):
    relay = Relay6(link_address="fd77:1::5", interface_id=b"port-7", remote_id=(4491, b"cm-1"))
    r = v6.sarr(relay=relay)
    assert r.status == "bound"
    pkt = Ether(r.received[-1].raw)
    assert pkt.haslayer(DHCP6_RelayReply) and pkt["UDP"].dport == 547
    assert bytes(pkt[DHCP6OptIfaceId].ifaceid) == b"port-7"   # echoed (RFC 8415 19.3.1)
    assert [x.address for x in rows_for(lab6, v6.duid)] == [r.lease.address]


def test_information_request_gives_the_lab_configuration(lab6, v6):
    r = v6.info_request()
    assert r.status == "answered" and r.reply.dns_servers == [lab6.servers[0].address]
    assert r.reply.domains == ["lab.test"] and v6.lease is None
    assert not rows_for(lab6, v6.duid, wait=0.2)


def test_a_duid_of_each_kind_gets_a_lease(lab6, v6):
    for kind in ("LLT", "EN", "UUID"):
        v6.use_duid(kind, enterprise=2495, identifier=b"lab")
        r = v6.sarr()
        assert r.status == "bound"
        assert [x.address for x in rows_for(lab6, v6.duid)] == [r.lease.address]


def test_the_shell_command_on_the_kea6_lab(capsys):
    from scapy_dhcp_ext.front.cli import main

    code = main(["--lab", "kea6", "--state", "/dev/null/none", "-c",
                 "r = sarr6(ia_pd=True); rows = lab.servers[0].leases6(); "
                 "print('GOT', r.lease.address, r.lease.prefix, sorted(x.prefix for x in rows))"])
    out = capsys.readouterr().out
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("GOT"))
    _, address, prefix, rows = line.split(" ", 3)
    assert f"'{address}/128'" in rows and f"'{prefix}'" in rows


def test_magics_on_the_v6_lab(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with Lab("kea6") as lab:
        InteractiveShell.clear_instance()
        ip = InteractiveShell.instance()
        session = ip.user_ns["dhcp"] = DhcpSession(lab.iface, state_file=False)
        ip.run_line_magic("load_ext", "scapy_dhcp_ext")
        try:
            r = ip.run_line_magic("dhcp6_sarr", "--pd --rapid-commit")
            assert r.status == "bound" and r.lease.prefix
            assert ip.run_line_magic("dhcp6_renew", "").status == "bound"
            assert ip.run_line_magic("dhcp6_info", "").reply.dns_servers == ["fd77:1::1"]
            rows = lab.servers[0].leases6()
            assert {x.prefix for x in rows} >= {r.lease.prefix, f"{r.lease.address}/128"}
            assert ip.run_line_magic("dhcp6_release", "").status == "answered"
            assert not lab.servers[0].leases6()
            out = tmp_path / "sweep6.json"
            report = ip.run_line_magic("dhcp6_sweep", f"--malformed ia-pd-t1-gt-t2,relay-nest-33 --no-progress "
                                                      f"--json {out}")
            assert [r.name for r in report.rows] == ["ia-pd-t1-gt-t2", "relay-nest-33"]
            import json

            saved = json.loads(out.read_text())
            assert [r["name"] for r in saved["rows"]] == ["ia-pd-t1-gt-t2", "relay-nest-33"]
        finally:
            ip.run_line_magic("unload_ext", "scapy_dhcp_ext")
            session.close()
            InteractiveShell.clear_instance()


def test_the_malformed_sweep6_matches_a_plain_replay_of_every_case(lab6, v6):
    from tests.support.plain6 import replay6

    report = v6.sweep_malformed(progress=False)
    assert report.complete and all(r.alive for r in report.rows) and len(report.rows) >= 40
    assert 0 < len(report.answered_cases) < len(report.rows)
    for row in report.rows:
        txid = parse_frame6(row.frames[0]).txid
        really = replay6(lab6.iface, row.frames, v6.mac, v6.duid, txid)
        assert sorted(really) == sorted(row.reply_types), f"{row.name}: the sweep saw {row.outcome}, " \
                                                           f"a plain replay {really or 'no reply'}"
    assert lab6.servers[0].alive()
    assert v6.sarr().status == "bound"


def test_the_length_sweep6_matches_a_plain_replay_of_every_row_kind(lab6, v6):
    import random

    from tests.support.plain6 import replay6

    report = v6.sweep_lengths(progress=False)
    assert report.complete and report.killer is None and all(r.alive for r in report.rows)
    top = 1500 - 48
    assert len(report.rows) == 48 + (top + 1) + 6 + 11
    assert {r.kind for r in report.rows} == {"header-cut", "length", "fragmented", "lie"}
    rows = {r.name: r for r in report.rows}
    first = report.first_answered
    chosen = [r for r in report.rows if r.kind in ("lie", "fragmented")]
    chosen += [rows[f"len6-{n:05d}"] for n in sorted({0, 3, 4, first - 1, first, first + 1, 512, top - 1, top})]
    chosen += random.Random(7).sample([r for r in report.rows if r.kind in ("length", "header-cut")], 10)
    for row in chosen:
        txid = parse_frame6(row.frames[0]).txid if row.kind != "header-cut" else None
        really = replay6(lab6.iface, row.frames, v6.mac, v6.duid, txid)
        assert sorted(really) == sorted(row.reply_types), f"{row.name}: the sweep saw {row.outcome}, " \
                                                           f"a plain replay {really or 'no reply'}"


def test_load6_leases_every_client_in_keas_database():
    with Lab("kea6", large_pool=True) as lab, DhcpSession(lab.iface, state_file=False) as s:
        r = s.v6.load(clients=300, duration=1.0, in_flight=8, progress=False, seed=7)
        assert r.completed > 300 and r.drops == 0 and r.naks == 0
        rows = lab.servers[0].leases6()
        # Each of the 300 DUIDs holds one address (a second SARR of a client renews its own)
        assert len({x.duid for x in rows}) == 300 and len({x.address for x in rows}) == 300
        assert all(x.kind == "NA" and x.iaid == 1 for x in rows)
        quick = s.v6.load(clients=50, duration=0.5, rapid_commit=True, progress=False, seed=8)
        assert quick.completed > 0 and set(quick.latency_ms) == {"solicit->reply", "sarr"}
        assert len({x.duid for x in lab.servers[0].leases6()}) == 350


def test_a_v6_packet_edited_by_hand_is_sent_and_answered(lab6, client6):
    from scapy_dhcp_ext.front.helpers import PacketTools

    client6.v6.solicit()
    tools = PacketTools(client6)
    edited = tools.pkt_edit(None, "DHCP6_Solicit.trid=0x654321")   # the SOLICIT just sent, a new txid
    result = tools.pkt_send(timeout=1.0)
    assert edited is not None and result.status == "answered"
    assert result.reply.type_name == "ADVERTISE" and result.reply.txid == 0x654321
    assert Ether(result.reply.raw)["DHCP6_Advertise"].trid == 0x654321


def test_ns_probe_and_a_base_packet_for_the_length_sweep(lab6, v6):
    from scapy.layers.dhcp6 import DHCP6_Solicit, DHCP6OptClientId, DHCP6OptElapsedTime
    from scapy.layers.inet6 import IPv6

    v6.sarr()
    report = v6.sweep_malformed(["ia-pd-t1-gt-t2", "msg-type-255"], probe="ns", progress=False)
    assert report.complete and all(r.alive for r in report.rows)
    base = IPv6() / DHCP6_Solicit(trid=1) / DHCP6OptClientId(duid=v6.duid) / DHCP6OptElapsedTime()
    lengths = v6.sweep_lengths([10, 18, 40], base=base["DHCP6_Solicit"], progress=False)
    assert [r.name for r in lengths.rows] == ["len6-00010", "len6-00018", "len6-00040"]
    assert [bool(r.replies) for r in lengths.rows] == [False, True, True]
