"""RFC 6704's nonce and signed FORCERENEW (wire/auth4.py), checked against RFC 3118's
layout and an HMAC-MD5 computed here with the standard library; dhcpcd accepting both
is the lab's oracle (test_check_client)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from scapy_dhcp_ext.wire import BOOTP_AT
from scapy_dhcp_ext.wire.auth4 import digest_placeholder, nonce_option, offers_nonce, sign_forcerenew
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.replies4 import ReplyOptions, build_forcerenew
from scapy_dhcp_ext.workloads.reply_edit4 import encode, options_of, rebuild

KEY = bytes(range(16))


def test_the_nonce_option_is_protocol_3_hmac_md5_a_counter_and_the_key():
    got = nonce_option(KEY, 1)
    assert got[:3] == b"\x03\x01\x00" and got[3:11] == (1).to_bytes(8, "big") and got[11] == 1 and got[12:] == KEY
    with pytest.raises(ValueError, match="16 bytes"):
        nonce_option(KEY[:8], 1)


def test_a_signed_forcerenew_carries_the_hmac_of_its_message_with_the_digest_hops_and_giaddr_zero():
    opts = ReplyOptions.build(server_ip="10.9.0.1", network=ipaddress.IPv4Network("10.9.0.0/24"), lease_time=30)
    raw = build_forcerenew(chaddr=bytes.fromhex("020000000001"), address="10.9.0.50", opts=opts,
                           server_mac=bytes.fromhex("020000000002"), server_ip="10.9.0.1", xid=0xABCD)
    unsigned = rebuild(raw, encode(options_of(raw) + [(90, digest_placeholder(2))]))
    signed = sign_forcerenew(unsigned, KEY)
    frame = parse_frame(signed)
    auth = frame.options[90]
    assert frame.type_name == "FORCERENEW" and not frame.problems and auth[:12] == b"\x03\x01\x00" + (
        2).to_bytes(8, "big") + b"\x02"
    message = signed[BOOTP_AT:].replace(auth[12:], bytes(16))
    assert auth[12:] == hmac.new(KEY, message, hashlib.md5).digest()
    assert sign_forcerenew(unsigned, bytes(16)) != signed   # the key matters
    with pytest.raises(ValueError, match="no option 90"):
        sign_forcerenew(raw, KEY)


def test_a_client_offers_the_nonce_only_with_hmac_md5_in_option_145():
    assert offers_nonce({145: b"\x01"}) and not offers_nonce({145: b"\x02"}) and not offers_nonce({})
