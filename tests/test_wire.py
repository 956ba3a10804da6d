"""The wire module: the option walker, checksums, layouts and the value parser.
Scapy, which shares none of this code, is the oracle for the checksums."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scapy_dhcp_ext.wire import (
    DISCOVER,
    FRAME_CHADDR,
    FRAME_OPTIONS,
    FRAME_XID,
    IP_LEN,
    MAX_OPTION_ITEMS,
    Bootp,
    bootp_header,
    checksum,
    find_option,
    ip_udp_frame,
    iter_options,
    mac_bytes,
    mac_str,
    parse_value,
    patch_checksums,
    read_options,
    udp_checksum,
    walk_options,
)
from scapy_dhcp_ext.wire.messages4 import build_message


def test_walk_stops_and_says_why():
    assert walk_options(b"\x35\x01\x01\xff").problem is None
    assert walk_options(b"\x35\x01\x01\xff").end == 3
    assert walk_options(b"\x35\x01\x01").problem == "no END option"
    assert walk_options(b"\x35\x01\x01\x0c").problem == "option 12 is cut off after its code"
    assert walk_options(b"\x0c\x09ab").problem == "option 12 has length 9 but only 2 bytes remain"
    area = walk_options(b"\0\0\x0c\x02ab\0\x35\x01\x03\xff")
    assert area.items == [(2, 12, b"ab"), (7, 53, b"\x03")] and area.codes() == [12, 53]
    flood = b"\xe0\x00" * (MAX_OPTION_ITEMS + 5) + b"\xff"
    assert walk_options(flood).problem == f"more than {MAX_OPTION_ITEMS} option items"
    assert len(list(iter_options(b"\0" * 5000 + b"\x35\x01\x01\xff"))) == 1  # PAD runs are not items


def test_read_options_joins_split_options_and_follows_overload():
    cookie = b"\x63\x82\x53\x63"
    file_area = b"\x0c\x02be\xff".ljust(128, b"\0")
    sname_area = b"\x0f\x03lab\xff".ljust(64, b"\0")
    header = bootp_header(2, 1, b"\x02" * 6, sname=sname_area, file=file_area)
    found = read_options(header + cookie + b"\x35\x01\x02\x0c\x03pro\x34\x01\x03\xff")
    assert found.joined(12) == b"probe" and found.joined(15) == b"lab" and found.overload == 3
    assert found.order == [53, 12, 52, 15] and not found.problems and found.end
    no_overload = read_options(header + cookie + b"\x35\x01\x02\xff\0\0")
    assert no_overload.joined(12) is None and not no_overload.problems
    trailing = read_options(header + cookie + b"\x35\x01\x02\xffjunk")
    assert trailing.problems == ["4 bytes after END, not all PAD"]


def test_layout_offsets_match_what_the_builder_writes():
    frame = build_message(DISCOVER, mac="02:00:00:00:00:07", xid=0xA1B2C3D4)
    assert struct.unpack_from("!I", frame, FRAME_XID)[0] == 0xA1B2C3D4
    assert frame[FRAME_CHADDR:FRAME_CHADDR + 6] == mac_bytes("02:00:00:00:00:07")
    assert find_option(frame, 53) == bytes([DISCOVER]) and find_option(frame, 99) is None
    assert frame[FRAME_OPTIONS - 4:FRAME_OPTIONS] == b"\x63\x82\x53\x63"
    assert len(bootp_header(1, 0, b"")) == Bootp.FIXED


def test_checksums_agree_with_scapy():
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    frame = bytearray(build_message(DISCOVER, mac="02:00:00:00:00:07", xid=5))
    frame[FRAME_XID] ^= 0xFF
    patch_checksums(frame)
    pkt = Ether(bytes(frame))
    again = Ether(bytes(frame))
    del again[IP].chksum, again[UDP].chksum
    rebuilt = Ether(bytes(again))
    assert (pkt[IP].chksum, pkt[UDP].chksum) == (rebuilt[IP].chksum, rebuilt[UDP].chksum)
    struct.pack_into("!H", frame, IP_LEN, 999)  # a lying length stays, the header checksum follows it
    patch_checksums(frame)
    assert Ether(bytes(frame))[IP].len == 999
    v6 = IPv6(src="fe80::1", dst="ff02::1:2") / UDP(sport=546, dport=547) / b"\x01\x00\x00\x01"
    built = IPv6(bytes(v6))
    udp = bytes(built[UDP])
    assert udp_checksum(bytes.fromhex("fe800000000000000000000000000001"),
                        bytes.fromhex("ff020000000000000000000000010002"), udp) == built[UDP].chksum


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_checksum_is_the_ones_complement_sum_of_words(data):
    padded = data + b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(padded) // 2}H", padded))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert checksum(data) == ~total & 0xFFFF


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(min_size=4, max_size=4),
       st.booleans())
def test_udp_checksums_by_arithmetic_agree_with_scapy(payload, sport, dport, src, v6):
    """udp_checksum() and ip_udp_frame() sum by arithmetic (no copies); Scapy,
    which computes words, says what they must come to, odd lengths and IPv6 too."""
    import socket

    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6, in6_chksum
    from scapy.layers.l2 import Ether

    from scapy_dhcp_ext.wire.replies4 import read_request

    if v6:
        a, b = src * 4, bytes(reversed(src)) * 4
        udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0xBEEF) + payload
        under = IPv6(src=socket.inet_ntop(socket.AF_INET6, a), dst=socket.inet_ntop(socket.AF_INET6, b))
        assert udp_checksum(a, b, udp) == (in6_chksum(17, under, udp[:6] + b"\0\0" + udp[8:]) or 0xFFFF)
        return
    frame = ip_udp_frame(payload, src_mac=b"\2" * 6, dst_mac=b"\4" * 6, src_ip=socket.inet_ntoa(src),
                         dst_ip="255.255.255.255", sport=sport, dport=dport)
    again = Ether(frame)
    del again[IP].chksum, again[UDP].chksum
    rebuilt = Ether(bytes(again))
    assert frame[24:26] == struct.pack("!H", rebuilt[IP].chksum)
    assert frame[40:42] == struct.pack("!H", rebuilt[UDP].chksum)
    # The fast request reader's check by arithmetic passes a right checksum and stops a wrong one
    # (padding of 0 to 6 bytes: odd UDP lengths too).
    request = ip_udp_frame(build_message(DISCOVER, mac="02:00:00:00:00:07", xid=5)[42:] + bytes(len(payload) % 7),
                           src_mac=b"\2" * 6, dst_mac=b"\4" * 6, src_ip=socket.inet_ntoa(src),
                           dst_ip="255.255.255.255", sport=68, dport=67)
    spoiled = request[:46] + bytes([request[46] ^ 0x01]) + request[47:]   # the xid, its checksum left
    assert read_request(request) is not None and read_request(spoiled) is None
    # A pending one (a local sender's: the field holds a partial sum) is read with the checksum put in.
    partial = request[:40] + struct.pack("!H", (sport * 7 + dport) & 0xFFFF) + request[42:]
    assert read_request(partial, pending=True).raw == request


def test_mac_text_and_bytes():
    assert mac_str(mac_bytes("02-AA-00-00-00-01")) == "02:aa:00:00:00:01"
    assert mac_str(b"\x02\0\0\0\0\x01" + b"\0" * 10) == "02:00:00:00:00:01"  # chaddr: the first six
    with pytest.raises(ValueError):
        mac_bytes("02:aa")


@pytest.mark.parametrize("text, value", [
    ("0x0102", 258), ("hex:0102", b"\x01\x02"), ("16", 16), ("0o10", 8), ("b'ab'", b"ab"),
    ("probe", "probe"), ("10.0.0.1", "10.0.0.1"), ("[1, 3, 6]", [1, 3, 6]), ("'x y'", "x y"), ("2.0", 2),
    ("__import__('os')", "__import__('os')"),
])
def test_one_value_parser(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_value_parser_says_what_is_wrong():
    with pytest.raises(ValueError, match="not hex"):
        parse_value("hex:zz")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["OFFER", "ACK", "NAK"]), st.booleans(),
       st.one_of(st.none(), st.binary(min_size=1, max_size=40)),
       st.one_of(st.none(), st.text(min_size=1, max_size=9)), st.binary(min_size=4, max_size=4),
       st.binary(min_size=4, max_size=4), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF))
def test_a_reply_summed_from_its_parts_is_the_frame_ip_udp_frame_builds(kind, lease, relay_info, message, ci, gi,
                                                                          flags, xid):
    """build_reply() sums its checksum from parts it keeps (the header's 44
    bytes, the tail's sum remembered per kind): the frame must be the one the
    general ip_udp_frame() (held to Scapy above) builds around the same bytes,
    odd tails (option 82, a message) and every kind too."""
    import ipaddress
    import socket

    from scapy_dhcp_ext.wire import ACK, NAK, OFFER, ip_str
    from scapy_dhcp_ext.wire.frames4 import Frame
    from scapy_dhcp_ext.wire.replies4 import ReplyOptions, build_reply

    msg = {"OFFER": OFFER, "ACK": ACK, "NAK": NAK}[kind]
    opts = ReplyOptions.build(server_ip="10.0.0.1", network=ipaddress.IPv4Network("10.0.0.0/24"), lease_time=600,
                              options={"domain": "lab.test"})
    request = Frame(b"", xid=xid, flags=flags, eth_src=b"\2" * 6, chaddr=b"\2\0\0\0\0\7", ciaddr=ip_str(ci),
                    giaddr=ip_str(gi), options={82: relay_info} if relay_info is not None else {})
    frame = build_reply(request, msg, opts, server_mac=b"\4" * 6, server_ip="10.0.0.1", yiaddr="10.0.0.9",
                        lease=lease, message=message)
    again = ip_udp_frame(frame[42:], src_mac=frame[6:12], dst_mac=frame[0:6], src_ip=socket.inet_ntoa(frame[26:30]),
                         dst_ip=socket.inet_ntoa(frame[30:34]), sport=67, dport=int.from_bytes(frame[36:38], "big"))
    assert frame == again
