"""The DHCPv4 client record as hostile replies (pure): one case per known packet shape.

Each case is a published client bug (its CVE) or the RFC clause a client stack
gets wrong, rebuilt as one anomaly on a valid reply of ours, and the neighbours
the record shows: the same mistake in the options next to the one reported.

- fixed-size options shorter or longer than their size: CVE-2009-0692 (ISC
  dhclient, a subnet mask longer than 4 bytes onto the stack), CVE-2018-20679
  (busybox udhcp reads 4 bytes of any option that holds fewer);
- shell metacharacters in the options hook scripts print: CVE-2011-0996
  (dhcpcd), CVE-2011-2716 (busybox udhcpc: options 12, 15, 40, 66, 17),
  CVE-2018-1111 (NetworkManager's dispatcher, option 252), and root path, boot
  file, sname and siaddr, which an initrd's DHCP hook put in a shell command (2026);
- lengths past the data left: CVE-2014-7912 (dhcpcd's get_option),
  CVE-2019-11579 (dhcpcd, option 52 one byte short), CVE-2016-2148 (udhcpc's
  6RD option 212); CVE-2021-31882 (Nucleus NET: option 6 whose length is not
  a multiple of 4);
- domain names: CVE-2020-7461 (FreeBSD dhclient, option 119 pointers forward
  and out of range), RFC 1035's label and name limits;
- routes: CVE-2024-3661 ("TunnelVision", option 121 with two /1 routes
  through us: every packet leaves through the server, around a VPN);
- IP and UDP headers that lie (RFC 791, 768), option areas over 68 and over
  128 bytes (small fixed buffers in embedded ports), option walks that loop
  (PAD runs, END first, zero-length options at the very end), and the BOOTP
  fields a client must check (op, cookie, hlen, option 61: RFC 2131 4.1,
  RFC 6842 3).
"""

from __future__ import annotations

import struct
from typing import Callable

from ..wire import BOOTP_AT, IP_AT, IP_LEN, UDP_AT, Bootp, patch_ip_checksum
from .reply_edit4 import (
    SHELL,
    Ctx,
    ReplyCase,
    encode,
    ip,
    long_option,
    name,
    options_of,
    overload,
    rebuild,
    setfield,
    setopt,
    with_options,
)

Make = Callable[[bytes, Ctx], list[bytes]]


def _tail(extra: bytes) -> Make:
    """The options, then ``extra`` as the last bytes of the frame: no END, no PAD after it."""
    return lambda raw, _ctx: [rebuild(raw, encode(options_of(raw)) + extra, end=False, pad=False)]


def _area_of(size: int) -> Make:
    """The option area (after the cookie, END included) made exactly ``size`` bytes with a vendor option."""
    def make(raw: bytes, _ctx: Ctx) -> list[bytes]:
        items = options_of(raw)
        left = size - len(encode(items)) - 1
        if left < 2:
            raise ValueError(f"an option area of {size} bytes cannot hold this reply's options")
        while left >= 2:
            items.append((224, b"v" * (min(left, 257) - 2)))
            left -= min(left, 257)
        return [rebuild(raw, encode(items) + bytes(left))]   # a last PAD when one byte is left
    return make


def _raw(edit: Callable[[bytearray], None]) -> Make:
    """The valid frame with ``edit`` applied to its bytes, the IP header checksum made right again
    (the UDP checksum is left as the edit leaves it)."""
    def make(raw: bytes, _ctx: Ctx) -> list[bytes]:
        frame = bytearray(raw)
        edit(frame)
        patch_ip_checksum(frame)
        return [bytes(frame)]
    return make


def _ip_length(frame: bytearray) -> None:
    struct.pack_into("!H", frame, IP_LEN, 24)   # IP header and 4 bytes: less than IP and UDP headers


def _udp_length(value: Callable[[int], int]) -> Callable[[bytearray], None]:
    def edit(frame: bytearray) -> None:
        ulen = struct.unpack_from("!H", frame, UDP_AT + 4)[0]
        struct.pack_into("!HH", frame, UDP_AT + 4, value(ulen), 0)   # checksum 0: "none", so only the length lies
    return edit


def _no_checksum(frame: bytearray) -> None:
    frame[UDP_AT + 6:UDP_AT + 8] = b"\0\0"


def _ip_options(raw: bytes, _ctx: Ctx) -> list[bytes]:
    """A 24-byte IP header (four NOP options, RFC 791 3.1) before UDP: a stack that assumes 20 reads wrong."""
    frame = bytearray(raw[:UDP_AT] + b"\x01" * 4 + raw[UDP_AT:])
    frame[IP_AT] = 0x46
    struct.pack_into("!H", frame, IP_LEN, len(frame) - IP_AT)
    patch_ip_checksum(frame)
    return [bytes(frame)]


def _trailer(raw: bytes, _ctx: Ctx) -> list[bytes]:
    return [raw + b"\xde\xad" * 100]   # 200 bytes past the IP datagram: Ethernet trailer (RFC 894: use IP's length)


def _pad_run(raw: bytes, _ctx: Ctx) -> list[bytes]:
    items = options_of(raw)
    return [rebuild(raw, encode(items[:1]) + bytes(250) + encode(items[1:]))]


def _end_first(raw: bytes, _ctx: Ctx) -> list[bytes]:
    return [rebuild(raw, b"\xff" + encode(options_of(raw)), end=False)]


def _pads_only(raw: bytes, _ctx: Ctx) -> list[bytes]:
    return [rebuild(raw, bytes(60), end=False, pad=False)]


def _yiaddr_last(octet: int) -> Make:
    """yiaddr with its last byte set: the /24's network (0) or broadcast (255) address."""
    def make(raw: bytes, ctx: Ctx) -> list[bytes]:
        yiaddr = raw[BOOTP_AT + Bootp.YIADDR:BOOTP_AT + Bootp.YIADDR + 3] + bytes([octet])
        return setfield(Bootp.YIADDR, yiaddr)(raw, ctx)
    return make


def _tunnelvision(raw: bytes, ctx: Ctx) -> list[bytes]:
    via = ip(ctx.server_ip)
    return setopt(121, b"\x01\x00" + via + b"\x01\x80" + via)(raw, ctx)


def _client_id_other(raw: bytes, ctx: Ctx) -> list[bytes]:
    other = bytes([ctx.client_mac[0], *ctx.client_mac[1:5], ctx.client_mac[5] ^ 0x55])
    return setopt(61, b"\x01" + other)(raw, ctx)


def _long_name() -> bytes:
    return name(*[b"n" * 63] * 5)   # 5 labels of 63: a name of 321 bytes, over RFC 1035's 255


SIXRD = bytes([0, 32]) + bytes.fromhex("20010db8") + bytes(12) + ip("10.77.0.1")   # mask, prefix length, prefix, relay


def record() -> list[ReplyCase]:
    """The record's cases, in a fixed order (names stable across releases)."""
    c = ReplyCase
    return [
        # -- fixed sizes, short and long ---------------------------------------------------------
        c("opt1-mask-len-0", "CVE-2018-20679", "ack", "subnet mask of 0 bytes", setopt(1, b"")),
        c("opt1-mask-len-8", "CVE-2009-0692", "ack", "subnet mask of 8 bytes", setopt(1, b"\xff" * 8)),
        c("opt1-mask-len-255", "CVE-2009-0692", "ack", "subnet mask of 255 bytes", setopt(1, b"\xff" * 255)),
        c("opt2-time-offset-len-3", "CVE-2018-20679", "ack", "time offset of 3 bytes", setopt(2, b"\x00\x0e\x10")),
        c("opt4-time-server-len-2", "CVE-2018-20679", "ack", "time server list of 2 bytes", setopt(4, b"\x0a\x4d")),
        c("opt26-mtu-len-1", "CVE-2018-20679", "ack", "interface MTU of 1 byte (a 2-byte option)", setopt(26, b"\x05")),
        c("opt33-static-route-len-5", "CVE-2018-20679", "ack", "static routes of 5 bytes (pairs of 8)",
          setopt(33, ip("10.1.0.0") + b"\x0a")),
        c("opt42-ntp-len-3", "CVE-2018-20679", "ack", "NTP server list of 3 bytes", setopt(42, b"\x0a\x4d\x00")),
        c("opt44-netbios-len-2", "CVE-2018-20679", "ack", "NetBIOS name server list of 2 bytes",
          setopt(44, b"\x0a\x4d")),
        c("opt59-t2-len-2", "CVE-2018-20679", "ack", "T2 of 2 bytes", setopt(59, b"\x0e\x10")),
        c("opt6-dns-len-6", "CVE-2021-31882", "ack", "DNS list of 6 bytes (not a multiple of 4)",
          setopt(6, ip("10.77.0.1") + b"\x08\x08")),
        c("opt6-dns-len-255", "CVE-2021-31882", "ack", "DNS list of 255 bytes",
          setopt(6, ip("10.77.0.1") * 63 + b"\x0a\x4d\x00")),
        c("opt3-router-len-7", "CVE-2021-31882", "ack", "router list of 7 bytes",
          setopt(3, ip("10.77.0.1") + b"\x0a\x4d\x00")),
        # -- shell metacharacters where hook scripts print them ------------------------------------
        c("hostname-shell-newline", "CVE-2011-0996", "ack", "hostname with a newline and a command",
          setopt(12, b"board\nreboot\n")),
        c("opt40-nis-domain-shell", "CVE-2011-2716", "ack", "NIS domain with shell metacharacters", setopt(40, SHELL)),
        c("opt66-tftp-server-shell", "CVE-2011-2716", "ack", "TFTP server name with shell metacharacters",
          setopt(66, SHELL)),
        c("opt17-root-path-shell", "CVE-2011-2716", "ack", "root path with shell metacharacters (an initrd's hook)",
          setopt(17, b"10.77.0.1:/srv/$(reboot)")),
        c("opt252-wpad-shell", "CVE-2018-1111", "ack", "WPAD URL with a quote and a command",
          setopt(252, b"http://x/wpad.dat' & touch /tmp/pwned #")),
        c("file-field-shell", "RFC 2131 2", "ack", "the BOOTP file field with shell metacharacters (an initrd's hook)",
          setfield(Bootp.FILE, b"boot.img;reboot;$(id)")),
        c("sname-field-shell", "RFC 2131 2", "ack", "the BOOTP sname field with shell metacharacters",
          setfield(Bootp.SNAME, b"tftp`reboot`")),
        c("siaddr-shell-bytes", "RFC 2131 2", "ack", "siaddr whose bytes read \"$(id\" (36.40.105.100)",
          setfield(Bootp.SIADDR, b"$(id")),
        # -- lengths past the data left ------------------------------------------------------------
        c("option-past-end-by-one", "CVE-2014-7912", "ack", "the last option claims one byte more than the frame holds",
          _tail(b"\x0c\x05abcd")),
        c("option-code-at-end", "CVE-2014-7912", "ack", "the frame ends on an option code, with no length",
          _tail(b"\x0c")),
        c("option-past-end-in-file", "CVE-2014-7912", "ack",
          "option 52 = 1; in the file field an option claims 200 bytes",
          overload(1, file_area=b"\x0c\xc8abc")),
        c("opt52-len-0", "CVE-2019-11579", "ack", "option overload of 0 bytes",
          with_options(lambda i: i + [(52, b"")])),
        c("opt52-len-2", "CVE-2019-11579", "ack", "option overload of 2 bytes",
          with_options(lambda i: i + [(52, b"\x01\x01")])),
        c("opt212-6rd-len-21", "CVE-2016-2148", "ack", "6RD option one byte short of its 22", setopt(212, SIXRD[:-1])),
        c("opt212-6rd-len-2", "CVE-2016-2148", "ack", "6RD option with only its two length bytes",
          setopt(212, SIXRD[:2])),
        c("opt212-6rd-prefixlen-200", "CVE-2016-2148", "ack", "6RD prefix length of 200 bits",
          setopt(212, bytes([0, 200]) + SIXRD[2:])),
        c("opt43-vendor-suboption-past-end", "RFC 2132 8.4", "ack", "a vendor sub-option claims 200 bytes; 3 follow",
          setopt(43, b"\x01\xc8abc")),
        c("opt125-vivso-past-end", "RFC 3925 4", "ack", "vendor-identifying option whose data claims 200 bytes",
          setopt(125, struct.pack("!IB", 4491, 200) + b"abc")),
        c("opt120-sip-encoding-2", "RFC 3361 3", "ack", "SIP servers with encoding byte 2 (only 0 and 1 exist)",
          setopt(120, b"\x02" + ip("10.77.0.1"))),
        # -- names ---------------------------------------------------------------------------------
        c("opt119-pointer-forward", "CVE-2020-7461", "ack", "domain search whose pointer points forward",
          setopt(119, b"\xc0\x02\x03lab\x00")),
        c("opt119-pointer-out-of-range", "CVE-2020-7461", "ack", "domain search pointer past the option's end",
          setopt(119, b"\x03lab\xc0\xff")),
        c("opt119-label-64", "RFC 1035 2.3.4", "ack", "domain search label of 64 bytes (63 at most)",
          setopt(119, bytes([64]) + b"a" * 64 + b"\x00")),
        c("opt119-name-over-255", "RFC 1035 2.3.4", "ack", "domain search name of 321 bytes in two instances",
          long_option(119, _long_name())),
        # -- routes and addresses ------------------------------------------------------------------
        c("opt121-tunnelvision", "CVE-2024-3661", "ack", "two /1 classless routes through the server",
          _tunnelvision),
        c("yiaddr-network-address", "RFC 1122 3.2.1.3", "ack", "yiaddr is the /24's network address", _yiaddr_last(0)),
        c("yiaddr-subnet-broadcast", "RFC 1122 3.2.1.3", "ack", "yiaddr is the /24's broadcast address",
          _yiaddr_last(255)),
        # -- IP and UDP headers ----------------------------------------------------------------------
        c("ip-total-length-below-headers", "RFC 791", "offer", "IP total length 24, less than IP and UDP headers",
          _raw(_ip_length), "rejected"),
        c("udp-length-below-header", "RFC 768", "offer", "UDP length 6, less than its own header",
          _raw(_udp_length(lambda _n: 6)), "rejected"),
        c("udp-length-past-ip", "RFC 768", "offer", "UDP length 100 bytes past the IP datagram",
          _raw(_udp_length(lambda n: n + 100)), "rejected"),
        c("udp-checksum-zero", "RFC 768", "offer", "UDP checksum 0 (none sent)", _raw(_no_checksum), "accepted"),
        c("ip-options-nop", "RFC 791 3.1", "offer", "a 24-byte IP header (four NOP options)", _ip_options),
        c("ethernet-trailer", "RFC 894", "offer", "200 bytes after the IP datagram", _trailer, "accepted"),
        # -- the option area and its walk ------------------------------------------------------------
        c("options-area-69", "RFC 2131 2", "ack", "an option area of 69 bytes (fixed 64-byte buffers)", _area_of(69)),
        c("options-area-129", "RFC 2131 2", "ack", "an option area of 129 bytes (fixed 128-byte buffers)",
          _area_of(129)),
        c("options-area-312", "RFC 2131 2", "ack", "an option area of 312 bytes (a client must take 312)",
          _area_of(312), "accepted"),
        c("pad-run-250", "RFC 2132 3.1", "offer", "250 PAD bytes between the options", _pad_run, "accepted"),
        c("end-first", "RFC 2132 3.2", "offer",
          "END right after the cookie, the options after it (a BOOTP reply: RFC 1534 3)", _end_first),
        c("pads-only", "RFC 2132 3.1", "offer", "an option area of PAD only, no END (a BOOTP reply: RFC 1534 3)",
          _pads_only),
        c("zero-length-option-at-end", "CVE-2019-11766", "ack", "the frame ends on a hostname of length 0, no END",
          _tail(b"\x0c\x00")),
        # -- fields a client must check --------------------------------------------------------------
        c("opt53-unknown-type", "RFC 2132 9.6", "offer", "message type 99", setopt(53, b"\x63"), "rejected"),
        c("opt53-type-zero", "RFC 2132 9.6", "offer", "message type 0", setopt(53, b"\x00"), "rejected"),
        c("op-bootrequest", "RFC 951 3", "offer", "op 1 (BOOTREQUEST) in the OFFER", setfield(Bootp.OP, b"\x01"),
          "rejected"),
        c("magic-cookie-wrong", "RFC 2131 3", "offer",
          "a magic cookie that is not 99.130.83.99 (a BOOTP reply: RFC 1534 3)",
          setfield(Bootp.COOKIE, b"\x63\x82\x53\x64")),
        c("hlen-16", "RFC 2131 2", "offer", "hlen 16 (a 16-byte copy into a 6-byte MAC)",
          setfield(Bootp.HLEN, b"\x10")),
        c("hlen-0", "RFC 2131 2", "offer", "hlen 0", setfield(Bootp.HLEN, b"\x00")),
        c("opt61-client-id-other", "RFC 6842 3", "offer", "the OFFER echoes another client's identifier",
          _client_id_other, "rejected"),
        c("opt82-to-client", "RFC 3046 2.2", "ack", "relay agent information in a reply that no relay carried",
          setopt(82, b"\x01\x04eth0\x02\x06board1")),
    ]

