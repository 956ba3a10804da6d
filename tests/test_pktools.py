"""Dump, diff and quick edits: pure code, no network."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.wire import DISCOVER
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from scapy_dhcp_ext.wire.pkedit import quick_edit
from scapy_dhcp_ext.wire.pktools import EditError, diff, dump, pins, write_pcap


@pytest.fixture
def pkt():
    return Ether(build_message(DISCOVER, mac="02:00:00:00:00:01", xid=0x1234,
                               opts=MessageOptions(hostname="a")))


def dhcp_opts(p) -> dict:
    return {o[0]: o[1:] for o in p[DHCP].options if isinstance(o, tuple)}


def test_quick_edits_of_every_kind(pkt):
    new = quick_edit(pkt, ["BOOTP.hops=3", "IP.ttl=0x9", "BOOTP.xid=0xdead", "BOOTP.chaddr=02:00:00:00:00:09",
                           "IP.src=10.0.0.7", "Ether.dst=02:00:00:00:00:aa", "BOOTP.flags=0x8000",
                           "DHCP.hostname=probe", "DHCP.message-type=request", "-DHCP.param_req_list",
                           "DHCP.224=hex:0102", "DHCP.lease_time=60", "DHCP.61=", "BOOTP.sname=b'srv'"])
    wire = parse_frame(bytes(new))
    assert (wire.xid, wire.chaddr.hex(), wire.ip_src, wire.flags) == (0xDEAD, "020000000009", "10.0.0.7", 0x8000)
    assert new[BOOTP].hops == 3 and new[IP].ttl == 9 and new[Ether].dst == "02:00:00:00:00:aa"
    assert wire.message_type == 3 and wire.options[12] == b"probe" and 55 not in wire.options
    assert wire.options[224] == b"\x01\x02" and wire.lease_time == 60 and wire.options[61] == b""
    assert bytes(new[BOOTP])[44:47] == b"srv"
    assert not wire.problems  # lengths and checksums were computed again
    # The original is untouched.
    assert pkt[BOOTP].hops == 0 and dhcp_opts(pkt)["hostname"] == (b"a",)


def test_option_replaced_in_place(pkt):
    new = quick_edit(pkt, ["DHCP.message-type=request"])
    assert new[DHCP].options[0] == ("message-type", "request")


def test_pinned_lying_lengths_go_out_exactly_as_set(pkt):
    new = quick_edit(pkt, ["IP.len=999", "UDP.len=7", "UDP.chksum=0xbeef"])
    raw = bytes(new)
    assert struct.unpack("!H", raw[16:18])[0] == 999
    assert struct.unpack("!HH", raw[38:42]) == (7, 0xBEEF)
    assert pins(new) == {"IP.len", "UDP.len", "UDP.chksum"}
    again = quick_edit(new, ["BOOTP.hops=1"])           # pins carry over
    assert struct.unpack("!H", bytes(again)[16:18])[0] == 999
    unpinned = quick_edit(again, ["IP.len=auto"])
    assert struct.unpack("!H", bytes(unpinned)[16:18])[0] == len(raw) - 14
    assert "IP.len" not in pins(unpinned)


@pytest.mark.parametrize("bad, says", [
    ("BOOTP.nope=1", "has no field 'nope'"), ("BOOTP.hops=abc", "does not build"),
    ("Foo.x=1", "no Foo layer"), ("hops=3", "Layer.field=VALUE"), ("DHCP.nosuch=1", "unknown DHCP option"),
    ("IP.src=example.com", "not an IPv4 address"), ("Ether.src=zz", "not a MAC"), ("-BOOTP.hops", "only DHCP"),
    ("BOOTP.hops=300", "does not build"), ("DHCP.224=hex:zz", "not hex"),
])
def test_bad_edits_say_why_and_change_nothing(pkt, bad, says):
    before = bytes(pkt)
    with pytest.raises(EditError, match=says):
        quick_edit(pkt, [bad])
    assert bytes(pkt) == before


def test_views(pkt):
    compact = dump(pkt)
    assert "BOOTP" in compact and "hostname='a'" in compact and "message-type=1 (DISCOVER)" in compact
    assert "0000" in dump(pkt, "hex") and "###[ BOOTP ]###" in dump(pkt, "show")
    assert dump(pkt, "summary").endswith("DHCP Discover") and dump(pkt, "raw").startswith("b'")
    assert "BOOTP.hops" in dump(pkt, "ls")
    lying = quick_edit(pkt, ["IP.len=999"])
    assert "!! IP total length 999" in dump(lying) and "pinned: IP.len" in dump(lying)
    with pytest.raises(EditError):
        dump(pkt, "bogus")


def test_diff_shows_what_differs_on_the_wire(pkt):
    new = quick_edit(pkt, ["BOOTP.hops=3", "DHCP.hostname=b"])
    text = diff(pkt, new)
    assert "BOOTP.hops" in text and "DHCP.hostname" in text and "IP.chksum" not in text
    assert "UDP.chksum" in text  # the payload changed, so did its checksum
    assert diff(pkt, pkt) == "no differences"


def test_pcap_opens_in_tshark(pkt, tmp_path):
    path = write_pcap([pkt, quick_edit(pkt, ["BOOTP.hops=2"])], str(tmp_path / "x.pcap"))
    if not shutil.which("tshark"):
        pytest.fail("tshark is missing: the README's test command installs it")
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "dhcp.hops", "-e", "dhcp.option.hostname"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["0\ta", "2\ta"]
