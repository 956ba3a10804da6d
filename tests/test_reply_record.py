"""The client record's hostile replies (workloads/reply_record4.py), pure: each case
is the shape its record names, read back with Scapy or a plain walk of the bytes
written here, not with the project's readers."""

from __future__ import annotations

import re
import struct

import pytest
from scapy.layers.dhcp import BOOTP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.workloads.reply_cases4 import Ctx, catalog
from scapy_dhcp_ext.workloads.reply_record4 import record
from tests.test_reply_cases import replies  # noqa: F401  (the fixture: a valid OFFER and ACK of our server)

CTX = Ctx("10.0.0.1", bytes.fromhex("02000000000a"))
COOKIE_END = 14 + 20 + 8 + 240   # options start here in a frame with a 20-byte IP header


def make(replies, name: str) -> bytes:   # noqa: F811
    case = next(c for c in catalog() if c.name == name)
    frames = case.make(replies[case.phase], CTX)
    assert len(frames) == 1
    return frames[0]


def walk(area: bytes) -> list[tuple[int, bytes | None]]:
    """(code, payload) in order; payload None where the length runs past the bytes there are."""
    out, i = [], 0
    while i < len(area):
        code = area[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            out.append((255, b""))
            break
        if i + 1 >= len(area) or i + 2 + area[i + 1] > len(area):
            out.append((code, None))
            break
        out.append((code, area[i + 2:i + 2 + area[i + 1]]))
        i += 2 + area[i + 1]
    return out


def end_at(area: bytes) -> int:
    """Where END is, walking the options from the start."""
    i = 0
    while area[i] != 255:
        i += 1 if area[i] == 0 else 2 + area[i + 1]
    return i


def area(frame: bytes) -> bytes:
    """The option area as the UDP length bounds it."""
    ulen = struct.unpack_from("!H", frame, 38)[0]
    return frame[COOKIE_END:34 + ulen]


def payloads(frame: bytes, code: int) -> list[bytes | None]:
    return [p for c, p in walk(area(frame)) if c == code]


def test_the_record_has_every_named_shape_and_the_catalog_passes_100():
    names = {c.name for c in record()}
    cites = {c.cite for c in record()}
    assert len(catalog()) >= 100 and len({c.name for c in catalog()}) == len(catalog())
    for cve in ("CVE-2009-0692", "CVE-2011-0996", "CVE-2011-2716", "CVE-2014-7912", "CVE-2016-2148",
                "CVE-2018-20679", "CVE-2019-11579", "CVE-2020-7461", "CVE-2018-1111", "CVE-2024-3661",
                "CVE-2021-31882"):
        assert cve in cites, cve
    for shell in ("opt40-nis-domain-shell", "opt66-tftp-server-shell", "opt17-root-path-shell", "opt252-wpad-shell",
                  "file-field-shell", "siaddr-shell-bytes", "ip-total-length-below-headers", "options-area-69",
                  "options-area-129", "pad-run-250", "zero-length-option-at-end"):
        assert shell in names


@pytest.mark.parametrize("case", [c for c in record() if re.search(r"-len-\d+$", c.name)], ids=lambda c: c.name)
def test_a_length_case_carries_its_option_at_that_length(replies, case):   # noqa: F811
    code, size = map(int, re.match(r"opt(\d+)-(?:.*-)?len-(\d+)$", case.name).groups())
    frame = case.make(replies[case.phase], CTX)[0]
    assert [len(p) if p is not None else None for p in payloads(frame, code)] == [size]


def test_shell_metacharacters_reach_the_fields_hook_scripts_print(replies):   # noqa: F811
    for name, code in (("opt40-nis-domain-shell", 40), ("opt66-tftp-server-shell", 66),
                       ("opt17-root-path-shell", 17), ("opt252-wpad-shell", 252), ("hostname-shell-newline", 12)):
        [value] = payloads(make(replies, name), code)
        assert set(value) & set(b"$`;&'\n"), name
    bootp = Ether(make(replies, "file-field-shell"))[BOOTP]
    assert bootp.file.rstrip(b"\0") == b"boot.img;reboot;$(id)"
    assert Ether(make(replies, "sname-field-shell"))[BOOTP].sname.rstrip(b"\0") == b"tftp`reboot`"
    assert Ether(make(replies, "siaddr-shell-bytes"))[BOOTP].siaddr == "36.40.105.100"


def test_lengths_past_the_data_left(replies):   # noqa: F811
    for name, tail in (("option-past-end-by-one", b"\x0c\x05abcd"), ("option-code-at-end", b"\x0c"),
                       ("zero-length-option-at-end", b"\x0c\x00")):
        frame = make(replies, name)
        assert frame.endswith(tail) and 255 not in [c for c, _p in walk(area(frame))], name
    assert walk(area(make(replies, "option-past-end-by-one")))[-1] == (12, None)
    file_field = Ether(make(replies, "option-past-end-in-file"))[BOOTP].file
    assert file_field[:2] == b"\x0c\xc8" and len(file_field) == 128
    assert payloads(make(replies, "option-past-end-in-file"), 52) == [b"\x01"]
    assert payloads(make(replies, "opt43-vendor-suboption-past-end"), 43) == [b"\x01\xc8abc"]
    [vivso] = payloads(make(replies, "opt125-vivso-past-end"), 125)
    assert vivso[4] == 200 and len(vivso) - 5 == 3
    [sixrd] = payloads(make(replies, "opt212-6rd-prefixlen-200"), 212)
    assert len(sixrd) == 22 and sixrd[1] == 200


def test_names_and_routes(replies):   # noqa: F811
    assert payloads(make(replies, "opt119-pointer-forward"), 119) == [b"\xc0\x02\x03lab\x00"]
    [out] = payloads(make(replies, "opt119-pointer-out-of-range"), 119)
    assert out[-2] & 0xC0 == 0xC0 and out[-1] >= len(out)
    assert payloads(make(replies, "opt119-label-64"), 119)[0][0] == 64
    parts = payloads(make(replies, "opt119-name-over-255"), 119)
    assert len(parts) == 2 and sum(map(len, parts)) > 255
    server = bytes([10, 0, 0, 1])
    assert payloads(make(replies, "opt121-tunnelvision"), 121) == [b"\x01\x00" + server + b"\x01\x80" + server]
    given = Ether(replies["ack"])[BOOTP].yiaddr.rsplit(".", 1)[0]
    assert Ether(make(replies, "yiaddr-network-address"))[BOOTP].yiaddr == f"{given}.0"
    assert Ether(make(replies, "yiaddr-subnet-broadcast"))[BOOTP].yiaddr == f"{given}.255"


def ip_checksum_ok(frame: bytes) -> bool:
    ihl = (frame[14] & 0x0F) * 4
    words = sum(struct.unpack(f"!{ihl // 2}H", frame[14:14 + ihl]))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    return words == 0xFFFF


def test_ip_and_udp_headers_that_lie(replies):   # noqa: F811
    frames = {n: make(replies, n) for n in ("ip-total-length-below-headers", "udp-length-below-header",
                                            "udp-length-past-ip", "udp-checksum-zero", "ip-options-nop",
                                            "ethernet-trailer")}
    assert all(ip_checksum_ok(f) for f in frames.values())   # only what the case names lies
    assert struct.unpack_from("!H", frames["ip-total-length-below-headers"], 16)[0] == 24
    assert struct.unpack_from("!H", frames["udp-length-below-header"], 38)[0] == 6
    past = frames["udp-length-past-ip"]
    assert struct.unpack_from("!H", past, 38)[0] == struct.unpack_from("!H", past, 16)[0] - 20 + 100
    assert Ether(frames["udp-checksum-zero"])[UDP].chksum == 0
    nop = Ether(frames["ip-options-nop"])
    assert nop[IP].ihl == 6 and nop[BOOTP].xid == Ether(replies["offer"])[BOOTP].xid
    assert UDP(bytes(nop[UDP])).chksum == nop[UDP].chksum   # the UDP checksum still right
    trailer = frames["ethernet-trailer"]
    assert len(trailer) == 14 + Ether(trailer)[IP].len + 200


def test_option_areas_and_walks(replies):   # noqa: F811
    for size in (69, 129, 312):
        opts = area(make(replies, f"options-area-{size}"))
        items = walk(opts)
        assert items[0][0] == 53 and items[-1] == (255, b"")   # the reply's own options first, then END
        assert end_at(opts) + 1 == size, size
    run = area(make(replies, "pad-run-250"))
    assert bytes(250) in run and [c for c, _p in walk(run)][0] == 53
    assert area(make(replies, "end-first"))[0] == 255
    pads = area(make(replies, "pads-only"))
    assert pads and not pads.strip(b"\0")


def test_fields_a_client_must_check(replies):   # noqa: F811
    assert payloads(make(replies, "opt53-unknown-type"), 53) == [b"\x63"]
    assert payloads(make(replies, "opt53-type-zero"), 53) == [b"\x00"]
    assert Ether(make(replies, "op-bootrequest"))[BOOTP].op == 1
    assert make(replies, "magic-cookie-wrong")[COOKIE_END - 4:COOKIE_END] == b"\x63\x82\x53\x64"
    assert Ether(make(replies, "hlen-16"))[BOOTP].hlen == 16
    assert Ether(make(replies, "hlen-0"))[BOOTP].hlen == 0
    [cid] = payloads(make(replies, "opt61-client-id-other"), 61)
    assert cid[0] == 1 and cid[1:] != CTX.client_mac and cid[1:6] == CTX.client_mac[:5]
    assert payloads(make(replies, "opt82-to-client"), 82)
