"""The tools the DHCPv6 reply catalog (:mod:`.reply_cases6`) builds its cases with: pure,
nothing sends. A case takes our server's valid reply frame (an ADVERTISE or a REPLY to the
device's link-local address, port 546) and returns the frames to send instead; most edit
the DHCPv6 message only (:func:`on_message`), which puts it back in a frame with its
lengths and checksum right, cut into IPv6 fragments when it outgrows the link's MTU.

    >>> case = ReplyCase6("advertise-no-server-id", "advertise", "RFC 8415 16.3", "...", "rejected",
    ...                   on_message(drop(SERVERID)))
    >>> frames = case.make(advertise_frame, ctx)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from ..wire.dhcp6 import (
    DHCP6_AT,
    IA_NA,
    IA_PD,
    IAADDR,
    IAPREFIX,
    IP6_AT,
    UDP6_AT,
    ip6_str,
    option6,
    udp6_frame,
    walk6,
)
from ..wire.fragments6 import MTU, fragment6

Option = tuple[int, bytes]
Edit = Callable[[bytes, "Ctx6"], bytes]


@dataclass(frozen=True)
class Ctx6:
    """What a case may need besides the reply: the device's MAC and DUID, ours."""

    client_mac: bytes = bytes(6)
    client_duid: bytes = b""
    server_duid: bytes = b""
    mtu: int = MTU


@dataclass(frozen=True)
class ReplyCase6:
    """One hostile reply: ``phase`` is the reply it replaces (``advertise``: the ADVERTISE to
    a SOLICIT; ``reply``: the REPLY to the REQUEST after a valid ADVERTISE; ``bound``: sent
    to a bound client, no reply replaced), ``cite`` where it comes from, ``expect`` what a
    careful client does (``rejected``, ``accepted``, or "" when either is right)."""

    name: str
    phase: str
    cite: str
    what: str
    expect: str
    make: Callable[[bytes, Ctx6], list[bytes]]


# -- the message ------------------------------------------------------------------

def split(message: bytes) -> tuple[int, bytes, list[Option]]:
    """A DHCPv6 message as (type, transaction id bytes, options)."""
    items, _problems = walk6(message, 4)
    return message[0], message[1:4], [(code, data) for _at, code, data in items]


def join(msg_type: int, txid: bytes, options: list[Option], tail: bytes = b"") -> bytes:
    return bytes([msg_type]) + txid + b"".join(option6(c, d) for c, d in options) + tail


def on_message(*edits: Edit, after: Callable[[bytes, Ctx6], list[bytes]] | None = None
               ) -> Callable[[bytes, Ctx6], list[bytes]]:
    """A case's ``make``: the message of the reply frame through ``edits``, back in a frame
    (fragmented past the MTU), then through ``after`` (frames to frames) if given."""
    def make(frame: bytes, ctx: Ctx6) -> list[bytes]:
        message = frame[DHCP6_AT:]
        for edit in edits:
            message = edit(message, ctx)
        frames = fragment6(reframe(frame, message), ctx.mtu)
        return after(frames[0], ctx) if after is not None and len(frames) == 1 else frames
    return make


def reframe(frame: bytes, message: bytes) -> bytes:
    """``message`` in a frame with ``frame``'s addresses and ports, lengths and checksum right."""
    sport, dport = struct.unpack_from("!HH", frame, UDP6_AT)
    return udp6_frame(message, src_mac=frame[6:12], dst_mac=frame[0:6], src=ip6_str(frame[IP6_AT + 8:IP6_AT + 24]),
                      dst=ip6_str(frame[IP6_AT + 24:IP6_AT + 40]), sport=sport, dport=dport,
                      hop_limit=frame[IP6_AT + 7])


# -- edits of the options -----------------------------------------------------------

def options(change: Callable[[list[Option], Ctx6], list[Option]], tail: bytes = b"") -> Edit:
    """An edit of the message's options as a list, ``tail`` bytes put after them."""
    def edit(message: bytes, ctx: Ctx6) -> bytes:
        msg_type, txid, opts = split(message)
        return join(msg_type, txid, change(opts, ctx), tail)
    return edit


def drop(code: int) -> Edit:
    return options(lambda opts, _c: [(c, d) for c, d in opts if c != code])


def put(code: int, data: bytes | Callable[[Ctx6], bytes]) -> Edit:
    """The option ``code`` set to ``data`` (in place of the first one, else added at the end)."""
    def change(opts: list[Option], ctx: Ctx6) -> list[Option]:
        value = data(ctx) if callable(data) else data
        if not any(c == code for c, _d in opts):
            return [*opts, (code, value)]
        out, done = [], False
        for c, d in opts:
            if c == code and not done:
                out.append((code, value))
                done = True
            elif c != code:
                out.append((c, d))
        return out
    return options(change)


def add(*raw_options: bytes) -> Edit:
    """Options appended as they are (already encoded: they may lie about their length)."""
    def edit(message: bytes, _ctx: Ctx6) -> bytes:
        return message + b"".join(raw_options)
    return edit


def header(msg_type: int | None = None, txid_plus: int = 0) -> Edit:
    """Another message type, or the transaction id moved by ``txid_plus``."""
    def edit(message: bytes, _ctx: Ctx6) -> bytes:
        txid = (int.from_bytes(message[1:4], "big") + txid_plus) & 0xFFFFFF
        return bytes([message[0] if msg_type is None else msg_type]) + txid.to_bytes(3, "big") + message[4:]
    return edit


def raw_option(code: int, data: bytes, length: int | None = None) -> bytes:
    """An option whose length field says ``length`` (default: the truth)."""
    return struct.pack("!HH", code, len(data) if length is None else length) + data


# -- edits inside the IAs -----------------------------------------------------------

@dataclass
class Ia:
    """An IA_NA or IA_PD as read: its code, IAID, T1, T2 and its own options."""

    code: int
    iaid: int
    t1: int
    t2: int
    inner: list[Option]
    tail: bytes = b""          # encoded after the inner options, as it is (a lying sub-option)
    length: int | None = None  # what the IA's own length field says (None: the truth)

    def encode(self) -> bytes:
        body = struct.pack("!III", self.iaid, self.t1, self.t2) + b"".join(option6(c, d) for c, d in self.inner) \
            + self.tail
        return raw_option(self.code, body, self.length)

    @classmethod
    def read(cls, code: int, data: bytes) -> Ia:
        iaid, t1, t2 = struct.unpack_from("!III", data.ljust(12, b"\0"))
        items, _ = walk6(data, 12)
        return cls(code, iaid, t1, t2, [(c, d) for _at, c, d in items])


def ia(kind: int, change: Callable[[Ia, Ctx6], Ia | bytes]) -> Edit:
    """An edit of each IA of ``kind`` (IA_NA or IA_PD): ``change`` gives the IA back, or its bytes."""
    def edit(message: bytes, ctx: Ctx6) -> bytes:
        msg_type, txid, opts = split(message)
        out = b""
        for code, data in opts:
            if code == kind:
                got = change(Ia.read(code, data), ctx)
                out += got if isinstance(got, bytes) else got.encode()
            else:
                out += option6(code, data)
        return bytes([msg_type]) + txid + out
    return edit


def items(ia_: Ia) -> list[bytes]:
    """The IA's addresses or prefixes (IAADDR or IAPREFIX payloads)."""
    return [d for c, d in ia_.inner if c in (IAADDR, IAPREFIX)]


def timers(t1: int, t2: int) -> Edit:
    def change(x: Ia, _c: Ctx6) -> Ia:
        x.t1, x.t2 = t1, t2
        return x
    return ia(IA_NA, change)


def lifetimes(preferred: int, valid: int, kind: int = IA_NA) -> Edit:
    """Every address (or prefix) of the IAs of ``kind`` with these lifetimes."""
    def change(x: Ia, _c: Ctx6) -> Ia:
        out = []
        for c, d in x.inner:
            if c == IAADDR and len(d) >= 24:
                d = d[:16] + struct.pack("!II", preferred, valid) + d[24:]
            elif c == IAPREFIX and len(d) >= 25:
                d = struct.pack("!II", preferred, valid) + d[8:]
            out.append((c, d))
        x.inner = out
        return x
    return ia(kind, change)


def first_item(kind: int, change: Callable[[bytes], bytes | None]) -> Edit:
    """The first IAADDR (or IAPREFIX) of the IA changed by ``change`` (None: taken out)."""
    sub = IAADDR if kind == IA_NA else IAPREFIX

    def edit_ia(x: Ia, _c: Ctx6) -> Ia:
        out, done = [], False
        for c, d in x.inner:
            if c == sub and not done:
                done = True
                got = change(d)
                if got is not None:
                    out.append((c, got))
            else:
                out.append((c, d))
        x.inner = out
        return x
    return ia(kind, edit_ia)


def item_tail(kind: int, tail: bytes, *, keep_first: bool = True) -> Edit:
    """The IA with its first address or prefix and then ``tail`` (raw bytes: a sub-option
    that may lie about its length), its own length the truth about what follows."""
    sub = IAADDR if kind == IA_NA else IAPREFIX

    def change(x: Ia, _c: Ctx6) -> Ia:
        first = [(c, d) for c, d in x.inner if c == sub][:1] if keep_first else []
        x.inner, x.tail = first, tail
        return x
    return ia(kind, change)


def empty_ias() -> Edit:
    """IA_NA and IA_PD with nothing inside: no address, no prefix, no status."""
    def change(x: Ia, _c: Ctx6) -> Ia:
        x.inner = []
        return x
    na, pd = ia(IA_NA, change), ia(IA_PD, change)
    return lambda message, ctx: pd(na(message, ctx), ctx)
