"""The hostile-reply catalog, pure: each case changes what it says it changes,
read back with Scapy's dissector (not ours) where Scapy can read it."""

from __future__ import annotations

import re

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.wire import DISCOVER, REQUEST
from scapy_dhcp_ext.workloads.reply_cases4 import Ctx, catalog, select
from tests.test_server_unit import ask, server

CTX = Ctx("10.0.0.1", bytes.fromhex("02000000000a"))


@pytest.fixture(scope="module")
def replies():
    srv, _ = server()
    offer = srv.handle(ask(DISCOVER))[0]
    ack = srv.handle(ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1"))[0]
    return {"offer": offer, "ack": ack, "renew": ack, "bound": ack}


def test_the_catalog_is_big_enough_named_once_and_cited():
    cases = catalog()
    assert len(cases) >= 45 and len({c.name for c in cases}) == len(cases)
    assert all(re.match(r"(CVE-\d{4}-\d+|RFC \d+)", c.cite) for c in cases), [c.cite for c in cases]
    assert {c.phase for c in cases} == {"offer", "ack", "renew", "bound"}
    with pytest.raises(ValueError, match="unknown case"):
        select(["no-such-case"])
    assert [c.name for c in select(["flood", "no-end"])] == ["flood", "no-end"]


def test_every_case_changes_the_reply(replies):
    for case in catalog():
        base = replies[case.phase]
        frames = case.make(base, CTX)
        assert frames, case.name
        if case.phase in ("offer", "ack"):
            assert frames != [base], case.name     # one anomaly, not the valid reply


def opts(raw: bytes) -> dict:
    return {o[0]: o[1] for o in Ether(raw)[DHCP].options if isinstance(o, tuple)}


def test_cases_read_back_with_scapy(replies):
    by = {c.name: c for c in catalog()}

    def make(name: str) -> bytes:
        return by[name].make(replies[by[name].phase], CTX)[0]

    assert Ether(make("yiaddr-loopback"))[BOOTP].yiaddr == "127.0.0.1"
    assert Ether(make("xid-mismatch"))[BOOTP].xid == Ether(replies["offer"])[BOOTP].xid + 1
    assert "message-type" not in opts(make("missing-opt53"))
    assert opts(make("hostname-shell"))["hostname"] == b"$(touch /tmp/pwned)`id`;reboot|&"
    assert opts(make("lease-infinite"))["lease_time"] == 0xFFFFFFFF
    assert opts(make("mask-non-contiguous"))["subnet_mask"] == "255.0.255.0"
    assert opts(make("t1-after-t2"))["renewal_time"] == 600 and opts(make("t1-after-t2"))["rebinding_time"] == 300
    big = make("options-1000-bytes")
    assert len(big) > 1000 + 300 and Ether(big)[BOOTP].yiaddr == "10.0.0.100"
    assert len(by["flood"].make(replies["offer"], CTX)) == 200
    frags = by["ip-fragments"].make(replies["offer"], CTX)
    assert len(frags) == 4 and all(len(f) <= 14 + 20 + 96 for f in frags)   # 308 bytes of UDP
    spoof = by["nak-unselected-server"].make(replies["offer"], CTX)
    assert opts(spoof[1])["message-type"] == 6 and opts(spoof[1])["server_id"] == "10.77.0.253"
    hostname = [o for o in Ether(make("hostname-300-split"))[DHCP].options
                if isinstance(o, tuple) and o[0] == "hostname"]
    assert [len(o[1]) for o in hostname] == [255, 45]   # RFC 3396: two instances
