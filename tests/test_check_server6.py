"""check_server6() against Kea DHCPv6, dnsmasq (v6) and our own serve6(): each verdict, and what the
server's own lease database says of the bindings the checks made (Kea's and dnsmasq's lease files)."""

from __future__ import annotations

import re

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.wire.frames6 import parse_frame6

pytestmark = pytest.mark.lab

# What the lab's servers deviate in, as the lab runs them (docs/verdicts.md tables it).
EXPECTED = {
    "kea6": {"timers-within-preferred": "warn"},   # the lab's rebind-timer 2880 > preferred 2700
    # it delegates no prefix; it offers a declined address again (its own log shows it, below)
    "dnsmasq6": {"ia-pd-lifetimes-consistent": "n/a", "decline-holds-back": "fail"},
}


@pytest.mark.parametrize("kind", ["kea6", "dnsmasq6"])
def test_check_server6_against_the_lab_servers_agrees_with_their_lease_databases(kind):
    with Lab(kind) as lab:
        server = lab.servers[0]
        with DhcpSession(lab.iface, state_file=False, timeout=2.0) as s:
            r = s.v6.check_server(destructive=True, progress=False)
        verdict = {row.id: row.verdict for row in r.rows}
        assert len(verdict) >= 25
        assert {k: v for k, v in verdict.items() if v != "pass"} == EXPECTED[kind], r
        # the REPLY that request-binds judged names an address the server's database holds for our DUID
        bound = [parse_frame6(raw) for d, raw, _t in r["request-binds"].frames if d == "in"]
        address = bound[-1].addresses[0].address
        rows = {row.address: row for row in server.leases6(every=True)}
        assert address in rows and rows[address].duid == (bound[-1].client_id or b"").hex()
        # decline-holds-back: Kea keeps the declined address as declined (state 1); dnsmasq forgets it
        # and, its own log says, ADVERTISEs it to another client (new clients bound until it came back)
        declined = [parse_frame6(raw) for d, raw, _t in r["decline-holds-back"].frames if d == "out"]
        held = declined[2].ia_na[0].addresses[0].address   # SOLICIT, REQUEST, then the DECLINE
        if kind == "dnsmasq6":
            log = (server.workdir / "server.log").read_text()
            duids = set(re.findall(rf"DHCPADVERTISE\(eth0\) {re.escape(held)} (\S+)", log))
            assert len(duids) >= 2, (held, duids)
        if kind == "kea6":
            assert rows[held].state == 1
            # pool-full-noaddrsavail filled the pool (fd77:1::100 to ::1ff): Kea's lease file holds every address
            assert len({a for a in rows if a.startswith("fd77:1::1")}) == 256, sorted(rows)
        assert held in r["decline-holds-back"].why
        assert "then an ADVERTISE with NoAddrsAvail" in r["pool-full-noaddrsavail"].why
        assert r.target.startswith(("LL ", "LLT "))   # the server's DUID, in words


def test_our_own_serve6_passes_every_check_on_one_interface():
    with Lab([]) as lab:
        with DhcpSession(lab.iface, state_file=False, timeout=2.0) as s:
            srv = s.v6.serve(rapid_commit=True, timeout=0.3)
            r = s.v6.check_server(destructive=True, progress=False)
            assert srv.running
        assert {row.id: row.verdict for row in r.rows if row.verdict != "pass"} == {}, r
        notes = [h.note for h in srv.log]
        assert any(n.startswith("dropped: SOLICIT with a Server Identifier") for n in notes)
        assert any("UseMulticast" in n for n in notes) and any("declined" in n for n in notes)


def test_a_server_silent_once_its_pool_is_full_fails_the_full_pool_check():
    from scapy.layers.dhcp6 import DHCP6OptStatusCode

    def no_noaddrsavail(_request, reply):   # an ADVERTISE that says NoAddrsAvail never goes
        return not (DHCP6OptStatusCode in reply and reply[DHCP6OptStatusCode].statuscode == 2)

    with Lab([]) as lab:
        with DhcpSession(lab.iface, state_file=False, timeout=2.0) as s:
            srv = s.v6.serve("fd77::100-fd77::10f", on_reply=no_noaddrsavail, timeout=0.3)
            r = s.v6.check_server(only="pool-full-noaddrsavail", destructive=True, progress=False)
            row = r["pool-full-noaddrsavail"]
            assert row.verdict == "fail" and "no ADVERTISE" in row.why and "after 16 bound" in row.why, row.why
            # and every binding it made was given back (the server's own table says so)
            assert {b.state for b in srv.leases if b.kind == "NA"} == {"released"}
