"""load(): the template fast path (no network) and a run against Kea in the lab."""

from __future__ import annotations

import re
import socket
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.wire import DISCOVER, RELEASE, REQUEST
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from scapy_dhcp_ext.workloads.load4 import Template, client_macs, message_type, percentiles, server_id

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


def kea_log_lines(lab: Lab, code: str, macs: set[str] | None = None) -> list[str]:
    """Kea's own log lines with this message code (for these client MACs)."""
    lines = [line for line in lab.servers[0].log.splitlines() if f" {code} " in line]
    if macs is None:
        return lines
    return [line for line in lines if (m := re.search(r"hwtype=1 ([0-9a-f:]{17})", line)) and m.group(1) in macs]


def test_load_against_kea(kea_lab):
    # More clients than DORAs: each is a new lease, which every Kea logs (2.6 does not log a lease reused).
    macs = {":".join(f"{b:02x}" for b in m) for m in client_macs(30000, seed=11)}
    with DhcpSession(kea_lab.iface, state_file=False) as s:
        r = s.load(clients=30000, duration=1.5, in_flight=8, progress=False, seed=11)
        assert r.started < 30000
        allocated = kea_log_lines(kea_lab, "DHCP4_LEASE_ALLOC", macs)
        # Every DORA we count as done is an ACK Kea logged; Kea may have sent a few more that we lost.
        assert 0 < r.completed <= len(allocated) <= r.completed + r.drops
        assert r.naks == 0
        held = {lease.mac for lease in kea_lab.servers[0].leases()} & macs
        assert held and held == {re.search(r"hwtype=1 ([0-9a-f:]{17})", line).group(1) for line in allocated}
        assert set(r.latency_ms) == {"discover->offer", "request->ack", "dora"}
        assert r.latency_ms["dora"]["p50"] <= r.latency_ms["dora"]["p99"] and "DORA" in repr(r)
        assert s.dora().status == "bound"  # the session works after a load


def test_load_at_a_fixed_rate_with_release(kea_lab):
    macs = {":".join(f"{b:02x}" for b in m) for m in client_macs(2000, seed=12)}
    with DhcpSession(kea_lab.iface, state_file=False) as s:
        r = s.load(clients=2000, duration=1.0, rate=400, release=True, progress=False, seed=12)
        assert r.completed > 0 and r.released == r.completed
        deadline = time.monotonic() + 10  # the last RELEASEs are on their way; Kea logs each
        while len(kea_log_lines(kea_lab, "DHCP4_RELEASE", macs)) < r.released and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(kea_log_lines(kea_lab, "DHCP4_RELEASE", macs)) == r.released
        assert kea_log_lines(kea_lab, "DHCP4_LEASE_ALLOC", macs)
        assert not {lease.mac for lease in kea_lab.servers[0].leases()} & macs  # every lease given back
