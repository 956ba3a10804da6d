"""The DHCPv6 hostile-reply catalog without a network: every case's frames read back with
Scapy (the oracle), each anomaly where its name says, the rest of the frame sound."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_Advertise,
    DHCP6_Reply,
    DHCP6OptClientId,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIAAddress,
    DHCP6OptIAPrefix,
    DHCP6OptPref,
    DHCP6OptServerId,
)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, defragment6
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.errors import UsageError
from scapy_dhcp_ext.wire.dhcp6 import duid_ll, walk6
from scapy_dhcp_ext.workloads.reply_cases6 import catalog6, select6
from scapy_dhcp_ext.workloads.reply_edit6 import Ctx6

SERVER, CLIENT = "02:53:00:00:00:01", "02:00:00:00:00:0a"
CTX = Ctx6(bytes.fromhex("02000000000a"), duid_ll(CLIENT), duid_ll(SERVER))
CASES = {c.name: c for c in catalog6()}


def reply(kind=DHCP6_Advertise) -> bytes:
    msg = kind(trid=0x123456) / DHCP6OptClientId(duid=DUID_LL(lladdr=CLIENT)) \
        / DHCP6OptServerId(duid=DUID_LL(lladdr=SERVER)) / DHCP6OptPref(prefval=255) \
        / DHCP6OptIA_NA(iaid=1, T1=4, T2=8, ianaopts=[DHCP6OptIAAddress(addr="fd77::100", preflft=10, validlft=20)]) \
        / DHCP6OptIA_PD(iaid=2, T1=4, T2=8, iapdopt=[DHCP6OptIAPrefix(prefix="fd77:2::", plen=56, preflft=10,
                                                                       validlft=20)]) \
        / DHCP6OptDNSServers(dnsservers=["fd77::53"]) / DHCP6OptDNSDomains(dnsdomains=["lab.example."])
    return bytes(Ether(src=SERVER, dst=CLIENT) / IPv6(src="fe80::53:ff:fe00:1", dst="fe80::ff:fe00:a", hlim=1)
                 / UDP(sport=547, dport=546) / msg)


def made(name: str) -> list[bytes]:
    case = CASES[name]
    return case.make(reply(DHCP6_Reply if case.phase == "reply" else DHCP6_Advertise), CTX)


def message(name: str) -> bytes:
    """The case's DHCPv6 message, reassembled by Scapy when it went in fragments."""
    frames = made(name)
    packet = IPv6(frames[0][14:]) if len(frames) == 1 else defragment6([IPv6(f[14:]) for f in frames])
    return bytes(packet[UDP].payload)


def options(data: bytes, start: int = 4) -> dict[int, list[bytes]]:
    items, _ = walk6(data, start)
    out: dict[int, list[bytes]] = {}
    for _at, code, payload in items:
        out.setdefault(code, []).append(payload)
    return out


def test_the_catalog_has_every_class_the_record_names_and_more_than_40_cases():
    cases = catalog6()
    assert len(cases) >= 40 and len({c.name for c in cases}) == len(cases)
    assert {c.phase for c in cases} == {"advertise", "reply", "bound"}
    for c in cases:
        assert c.cite and c.what and c.expect in ("", "accepted", "rejected"), c
    wanted = ["iaaddr-past-ia", "pd-exclude-121", "pd-exclude-128", "dns-servers-17", "ias-empty", "many-addresses",
              "iaaddr-short", "ia-ta-short-address", "boot-file-url-shell", "prefix-length-129", "iaprefix-short",
              "t1-over-t2", "lifetimes-zero", "lifetimes-infinite", "preferred-over-valid", "status-not-utf8",
              "status-64k", "server-duid-0", "server-duid-1", "server-duid-130", "server-duid-131",
              "unknown-option-in-ia", "domain-list-pointer", "domain-list-loop", "option-past-end",
              "other-client-id", "wrong-xid", "reconfigure-unauthenticated", "sol-max-rt-59", "sol-max-rt-86401",
              "relay-repl-32", "relay-repl-33", "flood"]
    for word in wanted:
        assert any(c.name.endswith(word) for c in cases), word


def test_only_and_skip_choose_as_every_catalog_does():
    order = [c.name for c in catalog6()]
    got = [c.name for c in select6(["advertise-flood", "reply-wrong-xid"])]
    assert sorted(got) == ["advertise-flood", "reply-wrong-xid"] and got == sorted(got, key=order.index)
    assert "advertise-flood" not in {c.name for c in select6(skip="advertise-flood")}
    with pytest.raises(UsageError, match="unknown case 'nope'"):
        select6("nope")


@pytest.mark.parametrize("name", [c.name for c in catalog6() if c.phase != "bound"])
def test_every_frame_is_a_sound_ipv6_udp_frame_to_the_client(name):
    frames = made(name)
    assert frames
    for raw in frames:
        ip = IPv6(raw[14:])
        assert raw[:6] == bytes.fromhex("02000000000a") and ip.dst == "fe80::ff:fe00:a"
        assert len(raw) - 14 <= 1500, "fits the link"
        assert ip.plen == len(raw) - 54
    if IPv6ExtHdrFragment in IPv6(frames[0][14:]):
        return
    ip = IPv6(frames[0][14:])
    udp = ip[UDP]
    assert udp.len == ip.plen and (udp.sport, udp.dport) == (547, 546)
    sent = udp.chksum
    del udp.chksum
    good = IPv6(bytes(ip))[UDP].chksum
    assert (sent == good) == (name != "advertise-bad-udp-checksum")


def test_message_level_anomalies_are_where_their_names_say():
    assert 2 not in options(message("advertise-no-server-id"))
    assert 1 not in options(message("reply-no-client-id"))
    assert options(message("reply-other-client-id"))[1][0] != duid_ll(CLIENT)
    assert message("advertise-wrong-xid")[1:4] == (0x123457).to_bytes(3, "big")
    assert message("advertise-header-only")[4:] == b""
    assert message("advertise-reply-to-solicit")[0] == 7
    for n in (0, 1, 130, 131):
        assert [len(x) for x in options(message(f"advertise-server-duid-{n}"))[2]] == [n]
    assert len(options(message("advertise-duplicate-server-id"))[2]) == 2
    tail = message("advertise-option-past-end")
    assert struct.unpack_from("!HH", tail, len(tail) - 8) == (0xFFF0, 1000)
    assert message("advertise-stray-bytes").endswith(b"\x00\x17\x00")
    assert options(message("advertise-sol-max-rt-59"))[82] == [struct.pack("!I", 59)]
    assert options(message("advertise-status-not-utf8"))[13][0][2:].startswith(b"\xff\xfe")
    assert options(message("advertise-noaddrs-preference-255"))[13][0][:2] == b"\x00\x02"


def inner(data: bytes, code: int) -> dict[int, list[bytes]]:
    return options(options(data)[code][0], 12)


def test_anomalies_inside_the_ias_are_where_their_names_say():
    ia = options(message("advertise-iaaddr-past-ia"))[3][0]
    sub_len = struct.unpack_from("!H", ia, 14)[0]
    assert sub_len == 24 + 64 and len(ia) == 12 + 4 + 24, "the IAADDR claims 64 bytes its IA_NA does not hold"
    pd = options(message("reply-iaprefix-past-ia-pd"))[25][0]
    assert struct.unpack_from("!H", pd, 14)[0] == 25 + 64
    prefix = inner(message("advertise-prefix-length-129"), 25)[26][0]
    assert prefix[8] == 129
    assert len(inner(message("reply-iaprefix-short"), 25)[26][0]) == 20
    assert len(inner(message("reply-iaaddr-short"), 3)[5][0]) == 16
    for name, excluded, size in (("advertise-pd-exclude-121", 121, 16), ("advertise-pd-exclude-128", 128, 16),
                                 ("reply-pd-exclude-short", 128, 1)):
        p = inner(message(name), 25)[26][0]
        assert p[8] == 0 and p[9:25] == bytes(16), "the delegated prefix is ::/0"
        excl = options(p, 25)[67][0]
        assert excl[0] == excluded and len(excl) == 1 + size
    assert len(inner(message("reply-many-addresses"), 3)[5]) == 100
    assert {0xFFF1, 0xFFF2} <= set(inner(message("advertise-unknown-option-in-ia"), 3))
    na = options(message("reply-t1-over-t2"))[3][0]
    assert struct.unpack_from("!II", na, 4) == (30, 10)
    addr = inner(message("reply-preferred-over-valid"), 3)[5][0]
    assert struct.unpack_from("!II", addr, 16) == (600, 300)
    assert struct.unpack_from("!II", inner(message("reply-lifetimes-zero"), 3)[5][0], 16) == (0, 0)
    assert struct.unpack_from("!II", inner(message("reply-lifetimes-zero"), 25)[26][0], 0) == (0, 0)
    assert inner(message("reply-ias-empty"), 3) == {} and inner(message("reply-ias-empty"), 25) == {}
    assert inner(message("advertise-address-multicast"), 3)[5][0][:2] == b"\xff\x02"


def test_names_and_dns_anomalies_are_where_their_names_say():
    assert len(options(message("reply-dns-servers-17"))[23][0]) == 17
    assert options(message("advertise-dns-servers-empty"))[23] == [b""]
    assert options(message("advertise-domain-list-loop"))[24][0] == b"\x03lab\xc0\x04"
    assert b"$(reboot)" in options(message("reply-domain-list-shell"))[24][0]
    assert b"$(reboot)" in options(message("reply-boot-file-url-shell"))[59][0]


def test_the_64k_status_goes_in_fragments_that_reassemble_to_it():
    frames = made("reply-status-64k")
    assert len(frames) > 40
    whole = defragment6([IPv6(f[14:]) for f in frames])
    status = options(bytes(whole[UDP].payload))[13]
    assert [len(s) for s in status] == [2 + 65000]


def test_relayed_cases_nest_the_advertise_32_and_33_deep():
    for depth in (32, 33):
        data, n = message(f"advertise-relay-repl-{depth}"), 0
        while data[0] == 13:   # RELAY-REPL: 34 bytes of header, then its options
            n += 1
            data = options(data, 34)[9][0]
        assert n == depth and data[0] == 2


def test_the_flood_is_the_valid_advertise_200_times():
    assert made("advertise-flood") == [reply()] * 200
