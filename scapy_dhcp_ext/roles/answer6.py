"""What a DHCPv6 server answers to one client message (RFC 8415 16 and 18.3): pure,
no I/O. :func:`answer` takes the message as read (:class:`~scapy_dhcp_ext.wire.msg6.Message6`)
and the bindings, and gives the reply's type and options with a note that says why,
or no reply and why.

    >>> a = answer(msg, Answering(server_duid, table, config), unicast=False)
    >>> a.msg_type, a.note
    (2, 'ADVERTISE fd77::100, fd77:2::/56')
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from functools import cached_property

from ..wire.dhcp6 import (
    ADVERTISE,
    CLIENTID,
    CONFIRM,
    DECLINE,
    INFORMATION_REQUEST,
    MESSAGE_TYPES6,
    ORO,
    RAPID_COMMIT,
    REBIND,
    RELEASE,
    RENEW,
    REPLY,
    REQUEST,
    SERVERID,
    SOLICIT,
    STATUS6,
    option6,
    status_option,
)
from ..wire.messages6 import client_id, server_id
from ..wire.msg6 import Frame6, Message6
from ..wire.replies6 import RECONF_ACCEPT, ReconfigureKey, ia_reply
from .leases6 import Binding6, Bindings6

SUCCESS, UNSPEC_FAIL, NO_ADDRS_AVAIL, NO_BINDING, NOT_ON_LINK, USE_MULTICAST, NO_PREFIX_AVAIL = range(7)
PREFERENCE, SOL_MAX_RT, INF_MAX_RT = 7, 82, 83
NEEDS_SERVER_ID = (REQUEST, RENEW, DECLINE, RELEASE)
NO_SERVER_ID = (SOLICIT, CONFIRM, REBIND)
_VERBS = {SOLICIT: "ADVERTISE", REQUEST: "REPLY", RENEW: "RENEW: REPLY", REBIND: "REBIND: REPLY"}   # in srv.log


@dataclass
class Config6:
    """How the server answers: lifetimes, T1 and T2 (half and 0.8 of the preferred
    lifetime unless set), rapid commit (only when configured and asked), the
    preference, SOL_MAX_RT and INF_MAX_RT (RFC 7083), and the options it gives a
    client that asks for them in its ORO (``{code: payload}``)."""

    preferred: int = 2700
    valid: int = 3600
    t1: int | None = None
    t2: int | None = None
    rapid_commit: bool = False
    preference: int | None = None
    sol_max_rt: int | None = None
    inf_max_rt: int | None = None
    options: dict[int, bytes] = field(default_factory=dict)
    reconfigure: bool = True   # give a reconfigure key to a client that accepts Reconfigure

    @property
    def times(self) -> tuple[int, int]:
        t1 = self.t1 if self.t1 is not None else self.preferred // 2
        t2 = self.t2 if self.t2 is not None else self.preferred * 4 // 5
        return t1, t2


@dataclass
class Answer6:
    """A reply to send (``msg_type`` and ``options``) or none (``msg_type`` None), and why."""

    msg_type: int | None
    options: list[bytes] = field(default_factory=list)
    note: str = ""
    bound: list[Binding6] = field(default_factory=list)   # what this reply commits (for the log and waiters)
    key: ReconfigureKey | None = None                      # a reconfigure key it hands over


@dataclass
class Answering:
    """What :func:`answer` needs besides the message: our DUID, the table, the config,
    a status the user asked the next REPLY to carry (``srv.refuse()``), and the keys given."""

    server_duid: bytes
    table: Bindings6
    config: Config6
    refuse: tuple[int, str] | None = None
    keys: dict[str, ReconfigureKey] = field(default_factory=dict)
    new_key: object = None   # a callable that makes a key's bytes (os.urandom(16) by default)

    @cached_property
    def server_option(self) -> bytes:
        """Our Server Identifier option, in every reply: made once."""
        return server_id(self.server_duid)


def oro_codes(msg: Message6) -> set[int]:
    p = msg.first(ORO)
    return set(struct.unpack(f"!{len(p) // 2}H", p[:len(p) // 2 * 2])) if p else set()


def _ias(f: Frame6) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """The IA_NA and IA_PD options of the client's message: (kind, iaid, [(address, length)])."""
    return [(i.kind, i.iaid, [(a.address, a.prefix_len) for a in i.addresses]) for i in f.ia_na + f.ia_pd]


def why_dropped(f: Frame6, our_duid: bytes) -> str:
    """RFC 8415 16: why a server must discard the client's message in ``f``, or ""."""
    msg = f.msg
    if msg is None:
        return "no DHCPv6 message"
    t = msg.msg_type
    cid, sid = msg.first(CLIENTID), msg.first(SERVERID)
    name = MESSAGE_TYPES6.get(t or 0, f"type {t}")
    if t not in (SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE, INFORMATION_REQUEST):
        return f"{name} is not a client's message"
    if cid is None and t != INFORMATION_REQUEST:
        return f"{name} without a Client Identifier (16)"
    if t in NO_SERVER_ID and sid is not None:
        return f"{name} with a Server Identifier ({ {SOLICIT: '16.2', CONFIRM: '16.5', REBIND: '16.7'}[t]})"
    if t in NEEDS_SERVER_ID and sid is None:
        return f"{name} without a Server Identifier (16)"
    if sid is not None and sid != our_duid:
        return f"{name} for another server ({sid.hex()})"
    if t == DECLINE and not f.ia_na:
        return "DECLINE without an IA_NA (16.8)"
    return ""


def answer(f: Frame6, ctx: Answering, *, unicast: bool, mac: str = "") -> Answer6:
    """The reply to the client's message in ``f`` (already past :func:`why_dropped`):
    see the module's docstring."""
    msg = f.msg
    assert msg is not None
    t = msg.msg_type
    cid = msg.first(CLIENTID) or b""
    duid = cid.hex()
    base = [ctx.server_option, client_id(cid)] if cid else [ctx.server_option]
    if unicast and t in NEEDS_SERVER_ID:   # 18.4: no Server Unicast option was ever sent
        return Answer6(REPLY, base + [status_option(USE_MULTICAST, "send to ff02::1:2")],
                       "unicast, and no Server Unicast option given: UseMulticast (18.4)")
    wanted = oro_codes(msg)
    given = ctx.config.options
    extras = [option6(code, given[code]) for code in sorted(wanted.intersection(given))] if given and wanted else []
    if t == INFORMATION_REQUEST:
        if ctx.config.inf_max_rt is not None and INF_MAX_RT in wanted:
            extras.append(option6(INF_MAX_RT, struct.pack("!I", ctx.config.inf_max_rt)))
        return Answer6(REPLY, base + extras, "INFORMATION-REQUEST: REPLY with options, no IA")
    if t == CONFIRM:
        return _confirm(f, ctx, base)
    if ctx.config.sol_max_rt is not None and SOL_MAX_RT in wanted and t in (SOLICIT, REQUEST, RENEW, REBIND):
        extras.append(option6(SOL_MAX_RT, struct.pack("!I", ctx.config.sol_max_rt)))
    if t in (RELEASE, DECLINE):
        return _release(f, ctx, base, duid)
    rapid = t == SOLICIT and ctx.config.rapid_commit and msg.first(RAPID_COMMIT) is not None
    commit = t == REQUEST or rapid
    reply_type = ADVERTISE if t == SOLICIT and not rapid else REPLY
    if reply_type == REPLY and ctx.refuse is not None:
        code, text = ctx.refuse
        ctx.refuse = None
        ias = [ia_reply(kind, iaid, status=(code, text)) for kind, iaid, _a in _ias(f)]
        return Answer6(REPLY, base + [status_option(code, text)] + ias,
                       f"refused with {STATUS6.get(code, code)}, as srv.refuse() asked")
    options, notes, bound = _ias_answered(f, ctx, t, duid, mac, commit)
    if t == SOLICIT and not bound and _ias(f):   # 18.3.9: nothing to give: no IA, NoAddrsAvail
        return Answer6(reply_type, base + [status_option(NO_ADDRS_AVAIL, "no addresses or prefixes free")]
                       + extras, f"{MESSAGE_TYPES6[reply_type]}: NoAddrsAvail ({'; '.join(notes)})")
    if rapid:
        extras.append(option6(RAPID_COMMIT))
    if reply_type == ADVERTISE and ctx.config.preference is not None:
        extras.append(option6(PREFERENCE, bytes([ctx.config.preference & 0xFF])))
    key = None
    if reply_type == REPLY and bound and ctx.config.reconfigure and msg.first(RECONF_ACCEPT) is not None:
        key = ctx.keys.get(duid)
        if key is None:
            make = ctx.new_key if callable(ctx.new_key) else (lambda: os.urandom(16))
            key = ctx.keys[duid] = ReconfigureKey(make())
        extras += [option6(RECONF_ACCEPT), key.in_reply()]
    what = ", ".join([b.text for b in bound]) or "nothing"
    verb = "REPLY (rapid commit)" if rapid else _VERBS.get(t or 0, "REPLY")
    note = f"{verb} {what}" + (f" ({'; '.join(notes)})" if notes else "")
    return Answer6(reply_type, base + options + extras, note, bound if reply_type == REPLY else [], key)


def _ias_answered(f: Frame6, ctx: Answering, t: int | None, duid: str,
                  mac: str, commit: bool) -> tuple[list[bytes], list[str], list[Binding6]]:
    t1, t2 = ctx.config.times
    pref, valid = ctx.config.preferred, ctx.config.valid
    options: list[bytes] = []
    notes: list[str] = []
    bound: list[Binding6] = []
    for one in f.ia_na + f.ia_pd:
        kind, iaid = one.kind, one.iaid
        if t == SOLICIT or t == REQUEST:
            b = ctx.table.assign(duid, iaid, kind, hint=one.addresses[0].address if one.addresses else None,
                                 commit=commit, mac=mac)
            if b is None:
                none_status = NO_ADDRS_AVAIL if kind == "NA" else NO_PREFIX_AVAIL
                options.append(ia_reply(kind, iaid, status=(none_status, "none free")))
                notes.append(f"IA_{kind} {iaid}: {STATUS6[none_status]}")
                continue
            options.append(ia_reply(kind, iaid, t1=t1, t2=t2, items=[(b.address, b.prefix_len, pref, valid)]))
            bound.append(b)
            continue
        # RENEW, REBIND: each address of the IA extended, or the IA's own when it named none
        items, zero = [], []
        names = [(a.address, a.prefix_len) for a in one.addresses] \
            or [(b.address, b.prefix_len) for b in ctx.table.held(duid, iaid, kind)]
        for address, length in names:
            b, why = ctx.table.extend(duid, iaid, kind, address, rebind=t == REBIND, mac=mac)
            if b is not None:
                items.append((b.address, b.prefix_len, pref, valid))
                bound.append(b)
            elif t == REBIND:   # 18.3.5: not ours for this client: lifetimes 0, so it stops using it
                zero.append((address, length, 0, 0))
                notes.append(f"{address}: {why}, lifetimes 0")
        if items or zero:
            options.append(ia_reply(kind, iaid, t1=t1 if items else 0, t2=t2 if items else 0, items=items + zero))
        else:   # 18.3.4: RENEW of an IA we do not know
            options.append(ia_reply(kind, iaid, status=(NO_BINDING, "no binding for this IA")))
            notes.append(f"IA_{kind} {iaid}: NoBinding")
    return options, notes, bound


def _confirm(f: Frame6, ctx: Answering, base: list[bytes]) -> Answer6:
    """18.3.3: Success when every address is on our link, NotOnLink when one is not,
    and no reply when the CONFIRM names no address."""
    addresses = [a.address for i in f.ia_na + f.ia_ta for a in i.addresses]
    if not addresses:
        return Answer6(None, note="CONFIRM with no address: no reply (18.3.3)")
    off = [a for a in addresses if not ctx.table.pools.on_link(a)]
    if off:
        return Answer6(REPLY, base + [status_option(NOT_ON_LINK, f"{off[0]} is not on this link")],
                       f"CONFIRM: NotOnLink ({', '.join(off)})")
    return Answer6(REPLY, base + [status_option(SUCCESS, "all on link")], "CONFIRM: Success, all on link")


def _release(f: Frame6, ctx: Answering, base: list[bytes], duid: str) -> Answer6:
    """18.3.7 and 18.3.8: RELEASE frees, DECLINE holds back; an IA we do not know gets NoBinding."""
    t = f.msg_type
    ias, done = [], []
    for kind, iaid, asked in _ias(f):
        if t == DECLINE and kind != "NA":
            continue
        freed = [a for a, _len in asked
                 if (ctx.table.release(duid, iaid, kind, a) if t == RELEASE else ctx.table.decline(duid, iaid, a))]
        done += freed
        if not freed:
            ias.append(ia_reply(kind, iaid, status=(NO_BINDING, "no binding for this IA")))
    verb = "released" if t == RELEASE else "declined"
    note = f"{MESSAGE_TYPES6[t or 0]}: {verb} {', '.join(done) or 'nothing'}"
    return Answer6(REPLY, base + [status_option(SUCCESS, verb)] + ias, note)
