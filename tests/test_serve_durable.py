"""serve() keeps serving: leases outlive the process (srv.stop() then serve(), and kill -9), a full pool
takes back offers nobody requested, and no reply goes to a dangerous destination. The oracles are the
client's own events (BusyBox udhcpc's script), the server's lease file read as CSV, and tshark."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.wire import DISCOVER, REQUEST
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from tests.support.killed import serving_until_killed
from tests.support.witness import Capture

pytestmark = pytest.mark.lab


def acks_by_address(rows) -> dict[str, set[str]]:
    """From tshark's rows (kind, yiaddr, chaddr): the MACs each address was ACKed to."""
    out: dict[str, set[str]] = {}
    for kind, yiaddr, chaddr in rows:
        if kind == "ACK" and yiaddr not in ("", "0.0.0.0"):
            out.setdefault(yiaddr, set()).add(chaddr)
    return out


def lease_rows(state_dir, iface) -> list[list[str]]:
    with open(state_dir / f"leases4-{iface}.csv", newline="") as fh:
        return list(csv.reader(line for line in fh if not line.startswith("#")))


def renewed(client, address: str) -> None:
    """The client renews (SIGUSR1) and reports the same address: the server ACKed it."""
    seen = len(client.events())
    client.renew()
    event = client.wait_event("renew", "bound", "nak", "deconfig", timeout=20, after=seen)
    assert (event["event"], event.get("ip")) == ("renew", address), client.events()[seen:]


def test_a_client_renews_its_address_across_stop_and_serve_and_across_kill_9(tmp_path):
    state = tmp_path / "state.json"
    with Lab([], clients=["udhcpc"]) as lab, Capture(lab.netns, "c0", lab.iface) as cap:
        client = lab.clients[0]
        s = DhcpSession(lab.iface, state_file=str(state), timeout=2.0)
        srv = s.serve(lease_time=120)
        address = client.wait_event("bound", timeout=30)["ip"]
        assert srv.wait_lease(client.mac, timeout=5).address == address
        srv.stop()

        srv = s.serve(lease_time=120)   # the same interface, the same state: the table comes back
        assert [(x.address, x.mac, x.state) for x in srv.leases] == [(address, client.mac, "bound")]
        assert "restored 1 leases" in srv.log[0].note
        renewed(client, address)
        assert any(h.note.startswith("RENEWING: ACK") for h in srv.log)
        srv.stop()
        s.close()

        # A process serving on the link, killed with SIGKILL: what it bound is in its lease file already.
        with serving_until_killed(lab.iface, str(state), "srv = serve(lease_time=120)"):
            seen = len(client.events())
            client.restart()   # a board that reboots: DISCOVER (its old address back), REQUEST, ACK
            assert client.wait_event("bound", timeout=30, after=seen)["ip"] == address
        assert [r[1:4] for r in lease_rows(tmp_path, lab.iface)][-1] == ["bound", address, client.mac]

        s = DhcpSession(lab.iface, state_file=str(state), timeout=2.0)
        srv = s.serve(lease_time=120)
        assert [(x.address, x.state) for x in srv.leases] == [(address, "bound")]
        renewed(client, address)
        # Another client asking for that address gets another one, and a REQUEST for it a NAK.
        other = s.discover(options={"requested_addr": address})
        assert other.offers and other.offers[0].address != address
        nak = s.request(address=address, server_id="10.77.0.1")
        assert nak.status == "refused"
        srv.stop()
        s.close()
    wire = cap.dhcp()
    assert acks_by_address(wire)[address] == {client.mac}
    assert all(len(macs) == 1 for macs in acks_by_address(wire).values()), wire   # never two clients


def test_a_full_pool_takes_back_offers_nobody_requested_and_a_real_client_gets_a_lease(tmp_path):
    with Lab([], clients=["udhcpc"]) as lab:
        client = lab.clients[0]
        client.stop()   # the board is off while the rig's burst fills the pool
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
        srv = s.serve("10.77.0.100-10.77.0.107")
        with Capture(lab.netns, "c0", lab.iface) as cap:
            macs = [f"02:77:00:00:{i // 256:02x}:{i % 256:02x}" for i in range(20)]
            for i, mac in enumerate(macs):   # more new clients than the pool holds, none of them requests
                s.endpoint.send(build_message(DISCOVER, mac=mac, xid=0x7700 + i, opts=MessageOptions()), "BURST")
            deadline = time.monotonic() + 10
            while sum("OFFER" in h.note for h in srv.log) < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            client.start()
            bound = client.wait_event("bound", timeout=30)
        offers = [row for row in cap.dhcp() if row[0] == "OFFER"]
        assert bound["ip"] in {f"10.77.0.{n}" for n in range(100, 108)}
        assert srv.wait_lease(client.mac, timeout=5).address == bound["ip"]
        took_back = [h.note for h in srv.log if "pool full: took back" in h.note]
        assert len(took_back) >= 13, took_back   # 12 for the burst past 8, one for the board
        assert len({row[2] for row in offers}) == 21   # tshark: every MAC got an OFFER, the board too
        srv.stop()
        s.close()


def test_requests_with_a_dangerous_relay_or_client_address_get_no_reply_on_the_wire(tmp_path):
    with Lab([], clients=["udhcpc"]) as lab:
        lab.clients[0].stop()
        s = DhcpSession(lab.iface, state_file=False, timeout=2.0)
        srv = s.serve()
        sent = []
        fields = ("dhcp.option.dhcp", "dhcp.ip.your", "dhcp.hw.mac_addr", "dhcp.id", "ip.dst")
        with Capture(lab.netns, "c0", lab.iface, fields) as cap:
            for i, (field, address) in enumerate([("giaddr", "255.255.255.255"), ("giaddr", "10.77.0.255"),
                                                   ("giaddr", "127.0.0.1"), ("giaddr", "224.0.0.5"),
                                                   ("giaddr", "0.0.0.9"), ("giaddr", "10.77.0.1"),
                                                   ("ciaddr", "255.255.255.255"), ("ciaddr", "127.0.0.1"),
                                                   ("ciaddr", "10.77.0.1")]):
                mac = f"02:78:00:00:00:{i:02x}"
                for msg in (DISCOVER, REQUEST):
                    opts = MessageOptions(giaddr=address) if field == "giaddr" else MessageOptions()
                    raw = build_message(msg, mac=mac, xid=0x7800 + i, opts=opts,
                                        ciaddr=address if field == "ciaddr" else None,
                                        requested="10.77.0.50" if msg == REQUEST and field == "giaddr" else None)
                    s.endpoint.send(raw, "DANGER")
                    sent.append(mac)
            sane = s.dora()   # the server still serves, and its reply is on the wire
        wire = cap.rows()
        replies = [r for r in wire if r.get("dhcp.option.dhcp") in ("2", "5", "6") and r["dhcp.hw.mac_addr"] in sent]
        # Only a renewing client's REQUEST from a bad ciaddr is answered: a NAK, broadcast (it starts over).
        assert {(r["dhcp.option.dhcp"], r["ip.dst"], r["dhcp.hw.mac_addr"]) for r in replies} == {
            ("6", "255.255.255.255", mac) for mac in sent[-6::2]}, replies
        assert sane.lease is not None and ("ACK", sane.lease.address, s.mac) in cap.dhcp()
        notes = [h.note for h in srv.log if "no reply goes there" in h.note]
        assert len(notes) == len(set(sent)), notes   # the first of each kind from each client, whole
        assert sum(n for (mac, _kind), n in srv.malformed_counts().items() if mac in set(sent)) == len(sent) - 3
        srv.stop()
        s.close()


def test_a_storm_of_malformed_requests_leaves_the_server_hearing_everyone(tmp_path):
    """3,000 malformed requests of a dozen kinds at line rate from one namespace, then 100 DISCOVERs
    from new clients: at least 99 OFFERs, counted by a plain socket there. The log keeps the first
    frame of each kind per client whole and counts the rest."""
    with Lab([], extra=1) as lab:
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
        srv = s.serve("10.77.0.0/20")
        proc = subprocess.run(["ip", "netns", "exec", lab.extra_netns[0], sys.executable, "-m", "tests.support.storm",
                               "eth0", "3000", "100", "20"], capture_output=True, text=True, timeout=120,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        assert got["offers"] >= 99, (got, srv.malformed_counts())
        # No frame lost: the server read every storm frame that its socket's filter lets in, and the DISCOVERs.
        deadline = time.monotonic() + 10
        while srv.requests < got["reaching"] + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got["reaching"] + 100 <= srv.requests <= got["reaching"] + 105, (got, srv.requests)
        counts = srv.malformed_counts()
        assert sum(counts.values()) >= 1000, counts   # most kinds are ignored (the rest answered anyway)
        kinds = [h for h in srv.log if h.note.startswith("malformed, ignored")]
        assert len(kinds) == len(counts) and len(kinds) <= 50 * 13, len(kinds)   # the first of each kind, whole
        assert not [h for h in srv.log if "internal error" in h.note]
        srv.stop()
        s.close()
