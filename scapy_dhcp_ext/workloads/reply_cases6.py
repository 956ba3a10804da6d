"""The catalog of hostile DHCPv6 replies for ``sweep_replies6()``: pure, nothing sends.

Each case is one anomaly on an otherwise valid ADVERTISE or REPLY of our server
(``serve6()``), with a stable name and the RFC clause or CVE it comes from (see
:class:`~.reply_edit6.ReplyCase6` for the phases). The DHCPv6 client record it
covers: sub-options longer than the option that holds them (a length that wraps
and freezes a stack's network task), an IA_PD prefix of /0 with a PD_EXCLUDE of
/121 to /128 (RFC 6603: a one-byte write past a buffer), a DNS servers option
whose length is not a multiple of 16, a REPLY with no usable address, an IA
whose data overflows when the client writes it back into its next message
(systemd-networkd, CVE-2018-15688), addresses read past a short IAADDR, shell
metacharacters in names and a boot file URL that reach a hook script (the class
of CVE-2011-0997), DNS name compression that RFC 8415 10 forbids, and the
message-level rules of RFC 8415 16 (what a client must discard).
"""

from __future__ import annotations

import struct

from ..wire.dhcp6 import (
    CLIENTID,
    DNS_SERVERS,
    DOMAIN_LIST,
    IA_NA,
    IA_PD,
    IA_TA,
    IAADDR,
    IAPREFIX,
    PREFERENCE,
    RELAY_MSG,
    RELAY_REPL,
    REPLY,
    SERVERID,
    STATUS_CODE,
    UDP6_AT,
    dns_name,
    iaaddr,
    ip6_bytes,
    option6,
    status_option,
)
from .catalog import choose
from .reply_edit6 import (
    Ctx6,
    Edit,
    Ia,
    ReplyCase6,
    add,
    drop,
    empty_ias,
    first_item,
    header,
    ia,
    lifetimes,
    on_message,
    options,
    put,
    raw_option,
    split,
    timers,
)

__all__ = ["Ctx6", "ReplyCase6", "catalog6", "select6"]

BOOTFILE_URL, PD_EXCLUDE, SOL_MAX_RT = 59, 67, 82
SHELL = "$(reboot)`id`;x"
NO_ADDRS_AVAIL, UNSPEC_FAIL = 2, 1


def _duid(n: int) -> Edit:
    """A Server Identifier of ``n`` bytes (a DUID-LL type first, where it fits)."""
    body = (b"\x00\x03\x00\x01" + bytes(range(256)) * 2)[:n]
    return put(SERVERID, body)


def _other_client(_opts: list[tuple[int, bytes]], ctx: Ctx6) -> list[tuple[int, bytes]]:
    other = ctx.client_duid[:-1] + bytes([(ctx.client_duid[-1:] or b"\0")[0] ^ 0xFF])
    return [(c, other if c == CLIENTID else d) for c, d in _opts]


def _sub_past_parent(kind: int) -> Edit:
    """The first IAADDR (IAPREFIX) says 64 bytes more than its IA holds: the size_t wrap."""
    sub = IAADDR if kind == IA_NA else IAPREFIX

    def change(x: Ia, _c: Ctx6) -> bytes:
        first = next((d for c, d in x.inner if c == sub), b"")
        x.inner, x.tail = [], raw_option(sub, first, len(first) + 64)
        return x.encode()
    return ia(kind, change)


def _ia_past_message(message: bytes, _ctx: Ctx6) -> bytes:
    """The last IA's length runs 200 bytes past the end of the message."""
    msg_type, txid, opts = split(message)
    out = b"".join(option6(c, d) for c, d in opts if c != IA_NA)
    na = next((d for c, d in opts if c == IA_NA), b"")
    return bytes([msg_type]) + txid + out + raw_option(IA_NA, na, len(na) + 200)


def _prefix_length(n: int) -> Edit:
    return first_item(IA_PD, lambda d: d[:8] + bytes([n]) + d[9:])


def _pd_exclude(excluded: int, subnet_bytes: int | None = None) -> Edit:
    """The delegated prefix made ::/0, carrying a PD_EXCLUDE (RFC 6603 4.2) of /``excluded``
    whose subnet ID is ``subnet_bytes`` long (default: the ceil((excluded - 0) / 8) it must be)."""
    subnet = b"\x80" + bytes((excluded + 7) // 8 - 1) if subnet_bytes is None else bytes(subnet_bytes)
    exclude = option6(PD_EXCLUDE, bytes([excluded]) + subnet)
    return first_item(IA_PD, lambda d: d[:8] + b"\x00" + bytes(16) + exclude)


def _address(text: str) -> Edit:
    return first_item(IA_NA, lambda d: ip6_bytes(text) + d[16:])


def _many_addresses(n: int) -> Edit:
    def change(x: Ia, _c: Ctx6) -> Ia:
        x.inner = [(IAADDR, iaaddr(f"fd77::{0x1000 + i:x}", 300, 600)[4:]) for i in range(n)]
        return x
    return ia(IA_NA, change)


def _big_item_options(x: Ia, _c: Ctx6) -> Ia:
    """The address carries 1,200 bytes of unknown sub-options: the IA a client writes back grows."""
    x.inner = [(c, d + b"".join(option6(0xFF00 + i, bytes(96)) for i in range(12)) if c == IAADDR else d)
               for c, d in x.inner]
    return x


def _unknown_inside(x: Ia, _c: Ctx6) -> Ia:
    x.inner += [(0xFFF1, b"x" * 7), (0xFFF2, b"")]
    return x


def _relayed(depth: int) -> Edit:
    """The message inside ``depth`` RELAY-REPLs, sent to the client's port 546 (a client takes none)."""
    def edit(message: bytes, _ctx: Ctx6) -> bytes:
        for n in range(depth):
            message = bytes([RELAY_REPL, depth - 1 - n]) + ip6_bytes("fd77::1") + ip6_bytes("fe80::1") \
                + option6(RELAY_MSG, message)
        return message
    return edit


def _bad_checksum(frame: bytes, _ctx: Ctx6) -> list[bytes]:
    at = UDP6_AT + 6
    csum = struct.unpack_from("!H", frame, at)[0] ^ 0x5A5A
    return [frame[:at] + struct.pack("!H", csum or 1) + frame[at + 2:]]


def _flood(frame: bytes, _ctx: Ctx6) -> list[bytes]:
    return [frame] * 200


def _names(*labels: bytes) -> bytes:
    return b"".join(bytes([len(x)]) + x for x in labels)


def _both(phases: str, name: str, cite: str, what: str, expect: str, *edits: Edit) -> list[ReplyCase6]:
    return [ReplyCase6(f"{phase}-{name}", phase, cite, what, expect, on_message(*edits)) for phase in phases.split()]


def catalog6() -> list[ReplyCase6]:
    """Every case, in the order a sweep runs them."""
    a, r, ar = "advertise", "reply", "advertise reply"
    cases: list[ReplyCase6] = []
    cases += _both(ar, "iaaddr-past-ia", "RFC 8415 21.4, 21.6",
                   "an IAADDR whose length says 64 bytes more than its IA_NA holds", "rejected",
                   _sub_past_parent(IA_NA))
    cases += _both(ar, "iaprefix-past-ia-pd", "RFC 8415 21.21, 21.22",
                   "an IAPREFIX whose length says 64 bytes more than its IA_PD holds", "rejected",
                   _sub_past_parent(IA_PD))
    cases += _both(a, "ia-na-past-message", "RFC 8415 21.1", "an IA_NA whose length runs 200 bytes past the message",
                   "rejected", _ia_past_message)
    cases += _both(a, "option-past-end", "RFC 8415 21.1", "a last option whose length says 1,000 bytes, 4 follow",
                   "rejected", add(raw_option(0xFFF0, b"abcd", 1000)))
    cases += _both(a, "stray-bytes", "RFC 8415 21.1", "3 bytes after the last option, not an option header",
                   "rejected", add(b"\x00\x17\x00"))
    cases += _both(a, "header-only", "RFC 8415 16.3", "the message type and transaction id, no option at all",
                   "rejected", options(lambda _o, _c: []))
    cases += _both(a, "no-server-id", "RFC 8415 16.3", "no Server Identifier", "rejected", drop(SERVERID))
    cases += _both(ar, "no-client-id", "RFC 8415 16.3, 16.10", "no Client Identifier", "rejected", drop(CLIENTID))
    cases += _both(ar, "other-client-id", "RFC 8415 16.3, 16.10", "the Client Identifier of another DUID",
                   "rejected", options(_other_client))
    cases += _both(ar, "wrong-xid", "RFC 8415 15, 16.3", "the transaction id plus one", "rejected", header(txid_plus=1))
    cases += _both(a, "server-duid-0", "RFC 8415 11.1", "a Server Identifier of 0 bytes", "rejected", _duid(0))
    cases += _both(a, "server-duid-1", "RFC 8415 11.1", "a Server Identifier of 1 byte", "rejected", _duid(1))
    cases += _both(a, "server-duid-130", "RFC 8415 11.1", "a Server Identifier of 130 bytes, the most a DUID may be",
                   "accepted", _duid(130))
    cases += _both(ar, "server-duid-131", "RFC 8415 11.1", "a Server Identifier of 131 bytes, one past a DUID's most",
                   "", _duid(131))
    cases += _both(a, "duplicate-server-id", "RFC 8415 21.3", "two different Server Identifiers", "",
                   add(option6(SERVERID, b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01")))
    cases += _both(ar, "prefix-length-129", "RFC 8415 21.22", "a delegated prefix of length 129", "",
                   _prefix_length(129))
    cases += _both(a, "prefix-length-255", "RFC 8415 21.22", "a delegated prefix of length 255", "",
                   _prefix_length(255))
    cases += _both(ar, "iaprefix-short", "RFC 8415 21.22", "an IAPREFIX cut to 20 bytes (25 at least)", "",
                   first_item(IA_PD, lambda d: d[:20]))
    cases += _both(ar, "iaaddr-short", "RFC 8415 21.6", "an IAADDR of 16 bytes: the address, no lifetimes", "",
                   first_item(IA_NA, lambda d: d[:16]))
    cases += _both(a, "ia-na-short", "RFC 8415 21.4", "an IA_NA of 8 bytes: no T2, no address", "",
                   ia(IA_NA, lambda x, _c: raw_option(IA_NA, struct.pack("!II", x.iaid, x.t1))))
    cases += _both(a, "ia-ta-short-address", "RFC 8415 21.5, 21.6", "an IA_TA (not asked for) whose IAADDR is 10 bytes",
                   "", add(option6(IA_TA, struct.pack("!I", 9) + option6(IAADDR, bytes(10)))))
    cases += _both(ar, "unknown-option-in-ia", "RFC 8415 21.4, 16",
                   "two unknown options inside the IA_NA, after the address", "accepted", ia(IA_NA, _unknown_inside))
    cases += _both(ar, "pd-exclude-121", "RFC 6603 4.2", "an IA_PD prefix ::/0 with a PD_EXCLUDE of /121", "",
                   _pd_exclude(121))
    cases += _both(a, "pd-exclude-128", "RFC 6603 4.2", "an IA_PD prefix ::/0 with a PD_EXCLUDE of /128", "",
                   _pd_exclude(128))
    cases += _both(ar, "pd-exclude-short", "RFC 6603 4.2",
                   "an IA_PD prefix ::/0 with a PD_EXCLUDE of /128 whose subnet ID is 1 byte (16 due)", "",
                   _pd_exclude(128, 1))
    cases += _both(ar, "dns-servers-17", "RFC 3646 3", "a DNS servers option of 17 bytes (a multiple of 16 due)", "",
                   put(DNS_SERVERS, ip6_bytes("fd77::53") + b"\x01"))
    cases += _both(a, "dns-servers-15", "RFC 3646 3", "a DNS servers option of 15 bytes", "",
                   put(DNS_SERVERS, ip6_bytes("fd77::53")[:15]))
    cases += _both(a, "dns-servers-empty", "RFC 3646 3", "a DNS servers option of 0 bytes", "", put(DNS_SERVERS, b""))
    cases += _both(a, "domain-list-pointer", "RFC 8415 10", "a domain search list with a compression pointer", "",
                   put(DOMAIN_LIST, dns_name("lab.example") + _names(b"x") + b"\xc0\x00"))
    cases += _both(ar, "domain-list-loop", "RFC 8415 10, CVE-2020-7461 (v4)",
                   "a domain search list whose pointer points at itself", "",
                   put(DOMAIN_LIST, _names(b"lab") + b"\xc0\x04"))
    cases += _both(a, "domain-list-long-label", "RFC 1035 2.3.4", "a domain search list with a 64-byte label", "",
                   put(DOMAIN_LIST, b"\x40" + b"a" * 64 + b"\x00"))
    cases += _both(ar, "domain-list-shell", "CVE-2011-0997 (class)", f"a search domain {SHELL}.lab", "",
                   put(DOMAIN_LIST, _names(SHELL.encode(), b"lab") + b"\x00"))
    cases += _both(r, "boot-file-url-shell", "RFC 5970 3.1, CVE-2011-0997 (class)",
                   f"a boot file URL tftp://[fd77::1]/{SHELL}", "", put(BOOTFILE_URL, f"tftp://[fd77::1]/{SHELL}".encode()))
    cases += _both(a, "status-not-utf8", "RFC 8415 21.13", "a status message that is not UTF-8", "accepted",
                   add(status_option(0, b"\xff\xfe\xc3\x28 ok")))
    cases += _both(ar, "status-64k", "RFC 8415 21.13", "a status message of 65,000 bytes (IPv6 fragments)", "",
                   add(status_option(0, b"s" * 65000)))
    cases += _both(a, "sol-max-rt-59", "RFC 7083 5", "SOL_MAX_RT 59, under its range: ignored, the rest taken",
                   "accepted", add(option6(SOL_MAX_RT, struct.pack("!I", 59))))
    cases += _both(a, "sol-max-rt-86401", "RFC 7083 5", "SOL_MAX_RT 86401, over its range: ignored, the rest taken",
                   "accepted", add(option6(SOL_MAX_RT, struct.pack("!I", 86401))))
    cases += _both(a, "noaddrs-preference-255", "RFC 8415 18.2.9",
                   "preference 255 and NoAddrsAvail, no address, no prefix", "rejected",
                   empty_ias(), put(STATUS_CODE, status_option(NO_ADDRS_AVAIL, "none")[4:]), put(PREFERENCE, b"\xff"))
    cases += _both(ar, "many-addresses", "CVE-2018-15688",
                   "an IA_NA of 100 addresses, written back in the next message", "", _many_addresses(100))
    cases += _both(a, "iaaddr-big-options", "CVE-2018-15688", "an IAADDR carrying 1,200 bytes of unknown sub-options",
                   "", ia(IA_NA, _big_item_options))
    cases += _both(ar, "address-multicast", "RFC 8415 21.6, RFC 4291 2.7", "the address ff02::1", "",
                   _address("ff02::1"))
    cases += _both(a, "address-loopback", "RFC 8415 21.6, RFC 4291 2.5.3", "the address ::1", "", _address("::1"))
    cases += _both(a, "address-unspecified", "RFC 8415 21.6, RFC 4291 2.5.2", "the address ::", "", _address("::"))
    cases += _both(a, "reply-to-solicit", "RFC 8415 18.2.1",
                   "a REPLY, not an ADVERTISE, to a SOLICIT without Rapid Commit", "rejected", header(REPLY))
    cases += _both(a, "relay-repl-32", "RFC 8415 16, 19.1", "the ADVERTISE inside 32 RELAY-REPLs, to port 546",
                   "rejected", _relayed(32))
    cases += _both(a, "relay-repl-33", "RFC 8415 16, 19.1", "the ADVERTISE inside 33 RELAY-REPLs, to port 546",
                   "rejected", _relayed(33))
    cases.append(ReplyCase6("advertise-bad-udp-checksum", a, "RFC 8200 8.1", "a UDP checksum that does not add up",
                            "rejected", _bad_checksum))
    cases.append(ReplyCase6("advertise-flood", a, "robustness", "the valid ADVERTISE 200 times at once", "accepted",
                            _flood))
    cases += _both(r, "t1-over-t2", "RFC 8415 21.4", "an IA_NA with T1 30 after T2 10: the IA_NA is to be dropped",
                   "", timers(30, 10))
    cases += _both(r, "lifetimes-zero", "RFC 8415 18.2.10.1", "every address and prefix with lifetimes 0", "",
                   lifetimes(0, 0), lifetimes(0, 0, IA_PD))
    cases += _both(r, "lifetimes-infinite", "RFC 8415 7.7", "lifetimes, T1 and T2 0xffffffff (infinite)", "accepted",
                   lifetimes(0xFFFFFFFF, 0xFFFFFFFF), timers(0xFFFFFFFF, 0xFFFFFFFF))
    cases += _both(r, "preferred-over-valid", "RFC 8415 21.6", "an address preferred 600 s, valid 300 s", "",
                   lifetimes(600, 300))
    cases += _both(r, "ias-empty", "RFC 8415 18.2.10.1", "IA_NA and IA_PD with no address, no prefix, no status", "",
                   empty_ias())
    cases += _both(r, "noaddrs-in-ia", "RFC 8415 18.2.10.1", "NoAddrsAvail in the IA_NA, no address", "",
                   ia(IA_NA, lambda x, _c: Ia(x.code, x.iaid, 0, 0, [(STATUS_CODE, b"\x00\x02none")])))
    cases += _both(r, "unspecfail", "RFC 8415 18.2.10", "status UnspecFail for the whole message", "",
                   add(status_option(UNSPEC_FAIL, "sweep_replies6")))
    cases.append(ReplyCase6("bound-reconfigure-unauthenticated", "bound", "RFC 8415 18.2.11, 20.4",
                            "a RECONFIGURE (renew) without authentication", "rejected", _no_frames))
    return cases


def _no_frames(_frame: bytes, _ctx: Ctx6) -> list[bytes]:
    return []   # the bound phase's frame comes from the server (srv.reconfigure(authenticated=False))


def select6(only: list[str] | str | None = None, skip: list[str] | str | None = None) -> list[ReplyCase6]:
    """The catalog, the cases ``only`` names, less ``skip`` (an unknown name says which exist)."""
    return choose(catalog6(), only, skip, key=lambda c: c.name, what="case")
