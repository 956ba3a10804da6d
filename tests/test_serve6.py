"""serve6() against real DHCPv6 clients in the lab (dhcpcd -6 and WIDE's dhcp6c, as the
lab runs them and as Debian ships them): the oracle is what each client itself
reports (dhcpcd's hook script, dhcp6c's own log) and the addresses its kernel holds."""

from __future__ import annotations

import csv
import subprocess

import pytest
from scapy.layers.dhcp6 import DHCP6_Renew

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.roles.serve6 import RogueServer6
from tests.support.killed import serving_until_killed

pytestmark = pytest.mark.lab


def kernel_addresses(netns: str, dev: str) -> list[str]:
    """The global IPv6 addresses the client's kernel holds on ``dev`` (``ip -6 addr``)."""
    out = subprocess.run(["ip", "-n", netns, "-6", "-o", "addr", "show", "dev", dev, "scope", "global"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines()]


@pytest.fixture(params=["dhcpcd6", "dhcp6c", "dhcpcd6:shipped", "dhcp6c:shipped"])
def v6_client_lab(request, tmp_path):
    with Lab([], clients=[request.param]) as lab:
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
        yield lab, lab.clients[0], s
        s.close()


def test_each_client_gets_an_address_and_a_prefix_that_it_reports_and_its_kernel_holds(v6_client_lab):
    lab, client, s = v6_client_lab
    srv = s.v6.serve(timeout=0.5)
    bound = client.wait_event("bound6", timeout=40)
    held = {b.kind: b for b in srv.leases if b.state == "bound"}
    assert set(held) == {"NA", "PD"}, srv.leases
    assert (bound["ip6"], bound["prefix6"]) == (held["NA"].address, held["PD"].text)
    assert held["NA"].address.startswith("fd77::1") and held["PD"].text.startswith("fd77:2:")
    assert bound["serverid6"] == srv.duid.hex() and bound["dns6"] == "fd77::53"
    assert held["NA"].mac == client.mac
    assert f"{held['NA'].address}/128" in kernel_addresses(client.netns, "eth0")
    prefix = held["PD"].address.rstrip(":")
    assert any(a.startswith(prefix) for a in kernel_addresses(client.netns, "lo")), prefix
    notes = [h.note for h in srv.log if h.direction == "in"]
    assert notes[0].startswith("ADVERTISE") and any(n.startswith("REPLY") for n in notes), notes


def same_lease(event: dict[str, str], bound: dict[str, str]) -> bool:
    """An event for the address or the prefix of ``bound`` (dhcp6c renews and rebinds each IA on its own)."""
    named = [k for k in ("ip6", "prefix6") if event.get(k)]
    return bool(named) and all(event[k] == bound[k] for k in named)


# dhcp6c takes no T1 or T2 below 30 s ("T1 (10) or T2 (14) is too small": it renews 18 s after its REPLY then).
TIMERS = {"dhcpcd6": (20, 30, 2, 5), "dhcp6c": (60, 90, 30, 40)}


@pytest.mark.parametrize("kind", ["dhcpcd6", "dhcp6c"])
def test_the_client_renews_at_t1_and_rebinds_at_t2_when_its_renewals_go_unanswered(kind, tmp_path):
    preferred, valid, t1, t2 = TIMERS[kind]
    with Lab([], clients=[kind]) as lab:
        client = lab.clients[0]
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
        try:
            srv = s.v6.serve(preferred=preferred, valid=valid, t1=t1, t2=t2, timeout=0.5)
            first = client.wait_event("bound6", timeout=40)
            renew = client.wait_event("renew6", timeout=t1 + 20)   # its own words: a REPLY to its RENEW taken
            assert same_lease(renew, first) and float(renew["t"]) - float(first["t"]) >= t1 - 1
            seen = len(client.events())
            srv.on_reply = lambda req, rep: None if DHCP6_Renew in req else rep   # RENEWs get no answer
            rebind = client.wait_event("rebind6", timeout=t2 + 20, after=seen)
            assert same_lease(rebind, first)
            asked = [h.frame.type_name for h in srv.log if h.direction == "in"]
            assert asked.index("REBIND") > asked.index("RENEW"), asked
            assert float(rebind["t"]) - float(renew["t"]) >= t2 - t1 - 1
        finally:
            s.close()


def test_bindings_outlive_a_restart_of_the_server_and_kill_9(tmp_path):
    with Lab([], clients=["dhcpcd6"]) as lab:
        client = lab.clients[0]
        state = str(tmp_path / "state.json")
        s = DhcpSession(lab.iface, state_file=state, timeout=2.0)
        srv = s.v6.serve(timeout=0.5)
        first = client.wait_event("bound6", timeout=40)
        srv.stop()
        s.close()
        again = DhcpSession(lab.iface, state_file=state, timeout=2.0)
        try:
            srv = again.v6.serve(timeout=0.5)
            assert "restored 2 bindings from" in srv.log[0].note and "leases6-" in srv.log[0].note
            seen = len(client.events())
            client.renew()   # dhcpcd renews on SIGUSR1: the new server knows it
            renew = client.wait_event("renew6", timeout=20, after=seen)
            assert renew["ip6"] == first["ip6"] and renew["prefix6"] == first["prefix6"]
            assert any(h.note.startswith("RENEW: REPLY " + first["ip6"]) for h in srv.log), srv.log
        finally:
            again.close()
        # A process serving on the link, killed with SIGKILL: what it bound is in its lease file already.
        with serving_until_killed(lab.iface, state, "srv = serve6()"):
            seen = len(client.events())
            client.renew()
            renew = client.wait_event("renew6", timeout=20, after=seen)
            assert renew["ip6"] == first["ip6"] and renew["prefix6"] == first["prefix6"]
        with open(tmp_path / f"leases6-{lab.iface}.csv", newline="") as fh:   # read as CSV, not by our parser
            rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))]
        bound = {(r[2], r[3]) for r in rows if r[1] == "bound"}
        assert ("NA", first["ip6"]) in bound and ("PD", first["prefix6"].split("/")[0]) in bound, rows
        third = DhcpSession(lab.iface, state_file=state, timeout=2.0)
        try:
            srv = third.v6.serve(timeout=0.5)
            assert {(b.kind, b.text, b.state) for b in srv.leases} >= {("NA", first["ip6"], "bound"),
                                                                        ("PD", first["prefix6"], "bound")}
            seen = len(client.events())
            client.renew()
            renew = client.wait_event("renew6", timeout=20, after=seen)
            assert renew["ip6"] == first["ip6"] and renew["prefix6"] == first["prefix6"]
        finally:
            third.close()


def test_serve6_will_not_start_beside_kea6_and_names_it():
    with Lab("kea6") as lab:
        s = DhcpSession(lab.iface, state_file=False, timeout=2.0)
        try:
            with pytest.raises(RogueServer6, match=r"another DHCPv6 server answers on .*LL .*\(fe80::"):
                s.v6.serve(timeout=1.0)
            assert s.v6.server is None or not s.v6.server.running
            srv = s.v6.serve(timeout=1.0, force=True)
            assert srv.running and any("beside another server" in m for m in s.endpoint.messages)
        finally:
            s.close()


def test_the_v6_magics_serve_a_lab_client_and_check_it(tmp_path):
    """%dhcp6_serve and %dhcp6_check in the shell, as a user types them (scapy-dhcp -c)."""
    import json
    import sys
    from pathlib import Path

    out = tmp_path / "client6.json"
    code = ("srv = %dhcp6_serve --rapid-commit --pd-length 60\n"
            "print('BOUND', lab.clients[0].wait_event('bound6', timeout=40)['prefix6'], srv.leases[-1].text)\n"
            "%dhcp6_serve --stop\n"
            f"r = %dhcp6_check client --only solicit-client-id,request-server-id,renew-at-t1 --json {out}\n")
    command = str(Path(sys.executable).with_name("scapy-dhcp"))
    done = subprocess.run([command, "--lab-client", "dhcpcd6", "-c", code], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    bound = next(line.split() for line in done.stdout.splitlines() if line.startswith("BOUND"))
    assert bound[1] == bound[2] and bound[1].endswith("/60")   # what dhcpcd reports is what we delegated
    rows = {c["id"]: c["verdict"] for c in json.loads(out.read_text())["checks"]}
    assert rows == {"solicit-client-id": "pass", "request-server-id": "pass", "renew-at-t1": "pass"}
