"""load(): the template fast path (no network) and a run against Kea in the lab."""

from __future__ import annotations

import socket

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.frames import parse_frame
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.load import Template, client_macs, message_type, percentiles, server_id
from scapy_dhcp_ext.packets import MessageOptions, build_message
from scapy_dhcp_ext.wire import DISCOVER, RELEASE, REQUEST

OPTS = MessageOptions(param_req_list=None)


def test_templates_render_what_the_builder_builds():
    mac = bytes.fromhex("024c00000007")
    discover = Template(build_message(DISCOVER, mac=b"\x02" * 6, xid=0, opts=OPTS))
    assert discover.render(0xABCDEF01, mac) == build_message(DISCOVER, mac=mac, xid=0xABCDEF01, opts=OPTS)
    request = Template(build_message(REQUEST, mac=b"\x02" * 6, xid=0, opts=OPTS, requested="0.0.0.0",
                                     server_id="0.0.0.0"))
    got = request.render(7, mac, socket.inet_aton("10.77.1.5"), socket.inet_aton("10.77.0.1"))
    assert got == build_message(REQUEST, mac=mac, xid=7, opts=OPTS, requested="10.77.1.5", server_id="10.77.0.1")
    release = Template(build_message(RELEASE, mac=b"\x02" * 6, xid=0, opts=OPTS, ciaddr="10.0.0.1",
                                     server_id="0.0.0.0", dst_ip="0.0.0.0"))
    got = release.render(9, mac, None, socket.inet_aton("10.77.0.1"), socket.inet_aton("10.77.1.5"))
    assert got == build_message(RELEASE, mac=mac, xid=9, opts=OPTS, ciaddr="10.77.1.5", server_id="10.77.0.1",
                                dst_ip="10.77.0.1")
    assert not parse_frame(got).problems


def test_fast_readers_and_helpers():
    frame = build_message(REQUEST, mac=b"\x02" * 6, xid=1, requested="10.0.0.2", server_id="10.0.0.1")
    assert message_type(frame) == REQUEST and server_id(frame) == socket.inet_aton("10.0.0.1")
    assert message_type(frame[:290]) == REQUEST and message_type(frame[:283]) == 0
    macs = client_macs(300, seed=1)
    assert len(set(macs)) == 300 and macs == client_macs(300, seed=1) and all(m[0] == 2 for m in macs)
    assert percentiles([0.001, 0.002, 0.003])["p50"] == 2.0 and percentiles([]) == {}


@pytest.fixture(scope="module")
def kea_lab():
    with Lab("kea", large_pool=True) as lab:
        yield lab


def test_load_against_kea(kea_lab):
    with DhcpSession(kea_lab.iface, state_file=False) as s:
        r = s.load(clients=500, duration=1.5, window=8, progress=False)
        assert r.completed > 500 and r.drops == 0 and r.naks == 0 and r.rate > 300
        assert set(r.latency) == {"discover->offer", "request->ack", "dora"}
        assert r.latency["dora"]["p50"] <= r.latency["dora"]["p99"] and "DORA" in repr(r)
        assert len(kea_lab.servers[0].leases()) >= 500  # every client got a lease
        assert s.dora().status == "ack"  # the session works after a load


def test_load_at_a_fixed_rate_with_release(kea_lab):
    with DhcpSession(kea_lab.iface, state_file=False) as s:
        r = s.load(clients=200, duration=1.0, rate=400, release=True, progress=False)
        assert 350 <= r.completed <= 410 and r.released == r.completed and r.drops == 0
        assert 350 <= r.rate <= 410
