"""Builders and the defensive parser: pure code, no network."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.wire import DISCOVER, INFORM, RELEASE, REQUEST, OptionError, mac_bytes, option_number, random_mac
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message, encode_option

MAC = "02:00:00:00:00:01"


def scapy_options(frame: bytes) -> dict:
    return {o[0]: o[1:] for o in Ether(frame)[DHCP].options if isinstance(o, tuple)}


def test_discover_is_what_scapy_reads_with_correct_checksums():
    frame = build_message(DISCOVER, mac=MAC, xid=0xDEADBEEF, opts=MessageOptions(hostname="probe"))
    pkt = Ether(frame)
    assert pkt[Ether].dst == "ff:ff:ff:ff:ff:ff" and pkt[Ether].src == MAC
    assert (pkt[IP].src, pkt[IP].dst, pkt[UDP].sport, pkt[UDP].dport) == ("0.0.0.0", "255.255.255.255", 68, 67)
    assert pkt[BOOTP].xid == 0xDEADBEEF and pkt[BOOTP].chaddr[:6] == mac_bytes(MAC)
    opts = scapy_options(frame)
    assert opts["message-type"] == (1,) and opts["hostname"] == (b"probe",)
    # Scapy recomputes both checksums; they must equal ours.
    ip_sum, udp_sum = pkt[IP].chksum, pkt[UDP].chksum
    del pkt[IP].chksum, pkt[UDP].chksum
    again = Ether(bytes(pkt))
    assert (again[IP].chksum, again[UDP].chksum) == (ip_sum, udp_sum)
    assert len(pkt[BOOTP]) >= 300


def test_request_carries_requested_address_server_id_and_options():
    opts = MessageOptions(client_id=b"\x01abc", vendor_class="board-1", param_req_list=[1, 3],
                          lease_time=120, broadcast=True, options={"domain": "x.test", 224: b"\x01\x02"})
    frame = build_message(REQUEST, mac=MAC, xid=7, opts=opts, requested="10.0.0.5", server_id="10.0.0.1")
    pkt = Ether(frame)
    opts_read = scapy_options(frame)
    assert opts_read["requested_addr"] == ("10.0.0.5",) and opts_read["server_id"] == ("10.0.0.1",)
    assert opts_read["client_id"] == (b"\x01abc",) and opts_read["vendor_class_id"] == (b"board-1",)
    assert opts_read["param_req_list"] == ([1, 3],) and opts_read["lease_time"] == (120,)
    assert opts_read["domain"] == (b"x.test",) and opts_read[224] == (b"\x01\x02",)
    assert pkt[BOOTP].flags == 0x8000


def test_relay_mode_sets_giaddr_hops_ports_and_option_82():
    opts = MessageOptions(giaddr="10.0.0.250", circuit_id="port1", remote_id=b"dev")
    frame = build_message(DISCOVER, mac=MAC, xid=1, opts=opts)
    pkt = Ether(frame)
    assert pkt[BOOTP].giaddr == "10.0.0.250" and pkt[BOOTP].hops == 1
    assert (pkt[IP].src, pkt[UDP].sport, pkt[UDP].dport) == ("10.0.0.250", 67, 67)
    assert parse_frame(frame).options[82] == b"\x01\x05port1\x02\x03dev"


def test_release_and_inform_use_ciaddr():
    rel = parse_frame(build_message(RELEASE, mac=MAC, xid=2, ciaddr="10.0.0.5", server_id="10.0.0.1",
                                    dst_ip="10.0.0.1"))
    assert (rel.ciaddr, rel.ip_src, rel.ip_dst, rel.server_id) == ("10.0.0.5", "10.0.0.5", "10.0.0.1", "10.0.0.1")
    inf = parse_frame(build_message(INFORM, mac=MAC, xid=3, ciaddr="10.0.0.5"))
    assert inf.message_type == INFORM and inf.ciaddr == "10.0.0.5"


def test_option_names_numbers_and_raw_bytes():
    assert option_number("hostname") == 12 == option_number(12) == option_number("12")
    assert option_number("message_type") == option_number("message-type") == 53
    assert encode_option("name_server", ["1.1.1.1", "8.8.8.8"]) == b"\x06\x08\x01\x01\x01\x01\x08\x08\x08\x08"
    assert encode_option(250, b"x" * 300)[:2] == b"\xfa\xff"  # split as RFC 3396 says
    assert len(encode_option(250, b"x" * 300)) == 300 + 4
    with pytest.raises(OptionError):
        option_number("no-such-option")
    with pytest.raises(OptionError):
        encode_option("lease_time", "not a number")
    # Raw items go out exactly as given, lying length included.
    frame = build_message(DISCOVER, mac=MAC, xid=1, opts=MessageOptions(options=[b"\x0c\x09ab"]))
    assert b"\x0c\x09ab" in frame and parse_frame(frame).problems


def test_option_given_by_user_replaces_the_builtin_one():
    frame = build_message(DISCOVER, mac=MAC, xid=1, opts=MessageOptions(hostname="a", options={12: b"bb"}))
    assert parse_frame(frame).options[12] == b"bb"


def test_random_mac_is_local_unicast():
    for _ in range(50):
        first = mac_bytes(random_mac())[0]
        assert first & 0x02 and not first & 0x01


def _reply(options: bytes, *, cookie: bytes = b"c\x82Sc", sname: bytes = b"", file: bytes = b"") -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 9, 0, 0, b"\0" * 4, b"\x0a\0\0\x05",
                        b"\0" * 4, b"\0" * 4, mac_bytes(MAC).ljust(16, b"\0"), sname, file)
    from scapy_dhcp_ext.wire.messages4 import ip_udp_frame
    return ip_udp_frame(bootp + cookie + options, src_mac=b"\x02" * 6, dst_mac=b"\xff" * 6,
                        src_ip="10.0.0.1", dst_ip="255.255.255.255", sport=67, dport=68)


@pytest.mark.parametrize("options, problem", [
    (b"\x35\x01\x02", "no END option"),
    (b"\x35\x01\x02\x36\x05\x0a\0\0\x01\x01\xff", "option 54 has length 5 (expected 4)"),
    (b"\x35\x01\x02\x36", "option 54 is cut off after its code"),
    (b"\x35\x01\x02\x36\x09\x0a\0", "option 54 has length 9 but only 2 bytes remain"),
    (b"\x35\x01\x02\x35\x01\x05\xff", "conflicting message types: OFFER, ACK"),
    (b"\x35\x01\x63\xff", "unknown message type 99"),
    (b"\x35\x00\xff", "option 53 has length 0 (expected 1)"),
    (b"\x35\x01\x02\x03\x03\x0a\0\0\xff", "option 3 has length 3 (expected a multiple of 4)"),
])
def test_malformed_replies_are_described_not_raised(options, problem):
    frame = parse_frame(_reply(options))
    assert any(problem in p for p in frame.problems), frame.problems
    assert frame.xid == 9 and frame.chaddr == mac_bytes(MAC)
    assert frame.summary()  # never raises


def test_overload_reads_options_from_file_and_sname():
    frame = parse_frame(_reply(b"\x35\x01\x02\x34\x01\x03\xff", file=b"\x36\x04\x0a\0\0\x01\xff",
                               sname=b"\x33\x04\0\0\x01\x00\xff"))
    assert frame.server_id == "10.0.0.1" and frame.lease_time == 256 and not frame.problems


def test_bad_cookie_and_short_frames():
    assert "bad magic cookie" in parse_frame(_reply(b"\xff", cookie=b"abcd")).problems[0]
    full = _reply(b"\x35\x01\x02\xff")
    for cut in range(len(full)):  # every truncation is flagged, none raises
        frame = parse_frame(full[:cut])
        assert frame.summary() and frame.problems, cut
    assert not parse_frame(full).problems



def test_importing_the_package_pulls_in_neither_ipython_nor_prompt_toolkit_nor_scapy_all():
    import subprocess
    import sys

    code = ("import sys, scapy_dhcp_ext\n"
            "print(sorted(m for m in ('IPython', 'prompt_toolkit', 'scapy.all') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
