"""serve() against real DHCP clients in the lab (BusyBox udhcpc, dhcpcd): the
oracle is what each client itself reports through its script, and tshark on
the link."""

from __future__ import annotations

import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.roles.serve4 import RogueServer
from tests.support.witness import Capture

pytestmark = pytest.mark.lab


@pytest.fixture(params=["udhcpc", "dhcpcd"])
def client_lab(request):
    with Lab([], clients=[request.param]) as lab:
        s = DhcpSession(lab.iface, state_file=False, timeout=2.0)
        yield lab, lab.clients[0], s
        s.close()


def test_a_lease_a_renewal_and_a_nak_as_the_client_reports_them(client_lab):
    lab, client, s = client_lab
    srv = s.serve(lease_time=8, options={"domain": "serve.test"})
    bound = client.wait_event("bound", timeout=30)
    lease = srv.wait_lease(client.mac, timeout=5)
    assert (bound["ip"], bound["serverid"], bound["lease"]) == (lease.address, "10.77.0.1", "8")
    assert bound["router"] == "10.77.0.1" and bound["domain"] == "serve.test"
    assert lease.state == "bound" and lease.mac == client.mac
    if client.kind == "dhcpcd":   # and the lease it keeps on disk says the same
        deadline = time.monotonic() + 5
        while client.lease_file() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.lease_file() == {"ip": lease.address, "serverid": "10.77.0.1", "lease": "8"}
    else:
        assert client.lease_file() is None   # udhcpc keeps none

    seen = len(client.events())   # asked to renew, the client asks us, unicast, and we ACK it
    client.renew()
    renew = client.wait_event("renew", timeout=15, after=seen)
    assert renew["ip"] == lease.address
    assert any("RENEWING: ACK" in h.note for h in srv.log)

    seen = len(client.events())
    # Its requests are NAKed until it starts over: dhcpcd, RENEWING, hears only
    # unicast, so it misses the broadcast NAK (RFC 2131 4.1) and takes the one to
    # its REBINDING. Either way the client goes back to DISCOVER.
    nak_at = len(srv.log)
    srv.nak(client.mac)
    client.renew()
    again = client.wait_event("bound", timeout=40, after=seen)
    kinds = [e["event"] for e in client.events()[seen:]]
    assert "nak" in kinds and kinds.index("nak") < kinds.index("bound"), kinds
    asked = [h for h in srv.log[nak_at:] if h.direction == "in"]
    first_discover = [h.frame.type_name for h in asked].index("DISCOVER")
    assert first_discover >= 1 and all(h.frame.type_name == "REQUEST" and h.note.startswith("NAK")
                                       for h in asked[:first_discover]), asked
    assert again["ip"] == srv.wait_lease(client.mac).address
    srv.stop()


def test_our_own_client_against_our_own_server_on_one_interface(tmp_path):
    with Lab([], clients=["udhcpc"]) as lab:
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
        srv = s.serve(macs=[s.mac])   # udhcpc is not answered: only our own client is
        with Capture(lab.netns, "c0", lab.iface) as cap:
            r = s.dora()
        assert r.lease is not None and r.lease.server_id == "10.77.0.1"
        wire = cap.dhcp()
        mine = [row for row in wire if row[2] == s.mac]
        assert [k for k, _y, _m in mine] == ["DISCOVER", "OFFER", "REQUEST", "ACK"], wire
        assert mine[3][1] == r.lease.address
        assert not [row for row in wire if row[2] == lab.clients[0].mac and row[0] in ("OFFER", "ACK")]
        assert any(h.note.endswith("is not in macs: ignored") for h in srv.log)
        assert r.lease.address in [x.address for x in srv.leases if x.mac == s.mac]
        s.close()


def test_serve_refuses_to_start_beside_another_server(tmp_path):
    with Lab("dnsmasq") as lab:
        s = DhcpSession(lab.iface, state_file=False, timeout=2.0)
        with pytest.raises(RogueServer, match=r"another DHCP server answers on .*10\.77\.0\.1"):
            s.serve()
        assert s.server is None
        srv = s.serve("10.77.0.200-10.77.0.210", force=True)
        assert srv.running and any("serving DHCP beside another server" in m for m in s.messages)
        s.close()
        assert not srv.running


def test_hostile_clients_do_not_stop_the_server_and_each_malformed_request_is_logged(tmp_path):
    """Our own sweeps against our own server: it never raises, never stops, and
    says why for every malformed request; a real client still gets a lease."""
    with Lab([], clients=["udhcpc"]) as lab:
        s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=1.0)
        srv = s.serve()
        client = lab.clients[0]
        client.wait_event("bound")
        malformed = s.sweep_malformed(progress=False)
        lengths = s.sweep_lengths(progress=False)
        notes = [h.note for h in srv.log if h.direction == "in"]
        assert not [n for n in notes if "internal error" in n]
        flagged = [h for h in srv.log if h.direction == "in" and h.frame.problems]
        answered = [h for h in flagged if "answered anyway" in h.note]
        ignored = srv.malformed_counts()   # the first of each kind from a client logged whole, the rest counted
        assert len(answered) + sum(ignored.values()) > 200   # the cut frames, the lies, the catalog's bad options
        assert len([h for h in srv.log if h.note.startswith("malformed, ignored")]) == len(ignored)
        assert all(h.note.startswith("malformed") and h.frame.problems[0] in h.note for h in flagged)
        assert malformed.rows and lengths.answered_lengths   # our server answered the sane ones
        seen = len(client.events())
        client.restart()   # and still serves a real client afterwards
        again = client.wait_event("bound", after=seen)
        assert srv.running and again["ip"] == srv.wait_lease(client.mac).address
        s.close()
