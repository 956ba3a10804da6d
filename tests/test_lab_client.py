"""The client's whole life against real servers (dnsmasq and Kea) in the lab."""

from __future__ import annotations

import ipaddress
import time

import pytest

from scapy_dhcp_ext import DhcpSession, DhcpTimeout
from scapy_dhcp_ext.wire import random_mac

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


def in_pool(address: str) -> bool:
    return ipaddress.ip_address("10.77.0.100") <= ipaddress.ip_address(address) <= ipaddress.ip_address("10.77.0.149")


def test_dora_gets_an_address_the_server_records(lab, session):
    r = session.dora(hostname="probe")
    lease = r.lease
    assert r.status == "bound" and session.state == "BOUND"
    assert in_pool(lease.address) and lease.server_id == "10.77.0.1"
    assert lease.lease_time == lab.lease_time and lease.router == "10.77.0.1"
    assert lease.subnet_mask == "255.255.255.0" and lease.dns_servers == ["10.77.0.1"]
    assert lease.domain == "lab.test"
    row = lab.servers[0].lease_for(session.mac)
    assert row is not None and row.address == lease.address
    assert [f.type_name for f in r.received] == ["OFFER", "ACK"]
    assert not any(f.problems for f in r.received)  # a real server's replies read clean
    assert r.packets[0].summary().endswith("DHCP Discover")


def test_init_reboot_ack_for_our_address_and_nak_outside_the_subnet(lab, session):
    address = session.dora().lease.address
    session.reset()
    r = session.request(address=address)
    assert r.status == "bound" and r.lease.address == address and r.reply.server_id == "10.77.0.1"
    from scapy_dhcp_ext.wire.frames4 import parse_frame
    assert parse_frame(r.sent[0][1]).server_id is None  # INIT-REBOOT names no server
    nak = session.request(address="10.99.0.5")
    assert nak.status == "refused" and session.state == "INIT" and session.lease is None
    if lab.kinds[0] == "dnsmasq":  # Kea's NAK carries no message
        assert nak.message in ("wrong network", "wrong address")  # option 56, the server's words


def test_renew_extends_the_lease(lab, session):
    first = session.dora().lease
    before = lab.servers[0].lease_for(session.mac).expires
    time.sleep(1.1)  # the servers count in whole seconds
    r = session.renew()
    assert r.status == "bound" and session.state == "BOUND"
    assert r.lease.address == first.address and r.lease.obtained > first.obtained
    assert lab.servers[0].lease_for(session.mac).expires > before


def test_rebind_is_broadcast_and_acked(lab, session):
    session.dora()
    r = session.rebind()
    assert r.sent[0][1][:6] == b"\xff" * 6 and r.status == "bound"


def test_release_frees_the_lease_on_the_server(lab, session):
    session.dora()
    assert lab.servers[0].lease_for(session.mac) is not None
    r = session.release()
    assert r.status == "sent" and session.lease is None and session.state == "INIT"
    deadline = time.monotonic() + 2
    while lab.servers[0].lease_for(session.mac) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lab.servers[0].lease_for(session.mac) is None


def test_inform_gets_options_and_no_lease(lab, session):
    lease = session.dora().lease
    r = session.inform()
    assert r.status == "answered" and r.lease is None and r.reply.yiaddr == "0.0.0.0"
    assert r.reply.routers == ["10.77.0.1"] and r.reply.dns_servers == ["10.77.0.1"]
    assert session.lease == lease and session.state == "BOUND"


def test_decline_reaches_the_server(lab, session):
    address = session.dora().lease.address
    session.decline()
    assert session.state == "INIT" and session.lease is None
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and "DECLINE" not in lab.servers[0].log:
        time.sleep(0.02)
    assert "DECLINE" in lab.servers[0].log and address in lab.servers[0].log
    assert lab.servers[0].lease_for(session.mac) is None


def test_relay_mode_with_option_82(lab, session):
    r = session.dora(giaddr="10.77.0.250", circuit_id="port1", remote_id="dev1")
    assert r.status == "bound" and in_pool(r.lease.address)
    assert all(f.dport == 67 and f.giaddr == "10.77.0.250" for f in r.received)


def test_silence_is_a_timeout_with_what_was_sent(lab, tmp_path):
    lab.servers[0].proc.terminate()
    lab.servers[0].proc.wait()
    s = DhcpSession(lab.iface, state_file=False, timeout=0.5)
    with pytest.raises(DhcpTimeout, match="no OFFER") as err:
        s.discover()
    assert err.value.result.sent and s.state == "INIT"
    s.close()


def test_two_servers_on_one_link_both_offer(make_lab):
    lab = make_lab(["dnsmasq", "kea"])
    with DhcpSession(lab.iface, state_file=False, mac=random_mac()) as s:
        d = s.discover(window=0.5)
        assert sorted(o.server_id for o in d.offers) == ["10.77.0.1", "10.77.0.2"]
        r = s.request(offer=1)
        assert r.status == "bound" and r.lease.server_id == d.offers[1].server_id


def test_one_socket_for_the_whole_session(lab, session):
    session.dora()
    sock = session.transport.sock
    session.renew()
    session.release()
    session.dora()
    assert session.transport.sock is sock


def test_edited_discover_gets_an_offer_and_lies_go_out_as_set(lab, session):
    import socket

    from scapy_dhcp_ext.front.helpers import PacketTools
    tools = PacketTools(session)
    session.discover(window=0)
    tools.pkt_edit(None, "BOOTP.hops=1", "DHCP.hostname=edited")
    r = tools.pkt_send(timeout=2)
    assert r.status == "answered" and r.received[0].type_name == "OFFER"
    # A second raw socket sees what really left the interface.
    spy = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    spy.bind((lab.iface, 0))
    spy.settimeout(2)
    try:
        lying = tools.pkt_edit(None, "IP.len=999", "UDP.chksum=0x1234")
        tools.pkt_send(timeout=0.3)
        expected = bytes(lying)
        seen = b""
        while seen != expected:
            seen = spy.recv(65535)
    finally:
        spy.close()
    assert seen[16:18] == (999).to_bytes(2, "big") and seen[40:42] == b"\x12\x34"
