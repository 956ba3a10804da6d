"""The DHCPv6 client role: SOLICIT, ADVERTISE, REQUEST, REPLY and the rest of
a lease's life, on the same endpoint (interface, MAC, history, state file) as
the v4 client. In the shell it is ``dhcp.v6``, and its operations are helpers::

    >>> r = sarr(ia_na=True, ia_pd=True)       # SOLICIT, ADVERTISE, REQUEST, REPLY
    >>> r.lease.address, r.lease.prefix, r.lease.t1
    ('fd77:1::100', 'fd77:1:2::/56', 1000)
    >>> sarr(rapid_commit=True)                # SOLICIT and REPLY
    >>> renew6(); rebind6(); confirm6(); info_request(); release6()

Every operation takes ``timeout=``, ``options=`` (more options: by name, by
code, or raw bytes; see :func:`~scapy_dhcp_ext.wire.messages6.user_options`), ``relay=`` (a
:class:`~scapy_dhcp_ext.wire.messages6.Relay6`, or set ``dhcp.v6.relay``) and returns a
:class:`~scapy_dhcp_ext.roles.results4.Result` whose ``.lease`` is a
:class:`~.results6.Lease6`. Status (:class:`~.results4.Status`, the v4 words):
offered, bound (a REPLY that binds), refused (a REPLY whose status code says
no: ``note`` says which), answered (RELEASE, DECLINE, CONFIRM,
INFORMATION-REQUEST answered), malformed, timeout (``DhcpTimeout`` raised,
its ``.result`` holds what was sent), interrupted. Retransmission follows RFC 8415 15 and 7.6.

RFCs: 8415 (client 18.2, DUIDs 11, IAID 12), 3646, 4649.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import UsageError, renamed
from ..link.exchange import Exchange
from ..wire.dhcp6 import (
    ADVERTISE,
    CONFIRM,
    DECLINE,
    IA_NA,
    IA_PD,
    INFORMATION_REQUEST,
    REBIND,
    RELEASE,
    RENEW,
    REPLY,
    REQUEST,
    SOLICIT,
    ia,
    iaaddr,
)
from ..wire.messages6 import rapid_commit as rapid_commit_option
from ..wire.messages6 import server_id
from .client6_base import Client6Base, new_txid
from .interrupts import interruptible
from .results4 import Result
from .results6 import Advertise, IALease, Lease6


class Client6(Client6Base):
    """The v6 client's operations (see the module's docstring), on :class:`~.client6_base.Client6Base`."""

    @interruptible("SOLICIT")
    def solicit(self, *, ia_na: bool = True, ia_pd: bool = False, rapid_commit: bool = False,
                timeout: float | None = None, window: float | None = None, **kw: Any) -> Result:
        """Multicasts a SOLICIT and collects every ADVERTISE up to ``window``
        seconds after the first, best preference first. With ``rapid_commit``
        a server that does it answers with a REPLY that binds at once."""
        if not (ia_na or ia_pd) and not kw.get("options"):
            raise UsageError("solicit nothing? ask for ia_na=True and/or ia_pd=True")
        self.txid, self.state = new_txid(), "SOLICITING"
        ias = ([ia(IA_NA, self._iaid("NA"))] if ia_na else []) + ([ia(IA_PD, self._iaid("PD"))] if ia_pd else [])
        extra = [rapid_commit_option()] if rapid_commit else []
        ex = self._exchange("SOLICIT", SOLICIT, ias + extra, timeout,
                            0.0 if rapid_commit else (self.window if window is None else window),
                            lambda f: f.msg_type in (ADVERTISE, REPLY), **kw)
        # A REPLY binds only with rapid commit (RFC 8415 18.2.10); a malformed one is shown for what it is.
        replies = [f for f in ex.replies if f.msg_type == REPLY and (f.rapid_commit or f.malformed)]
        if replies:
            return self._bound("SOLICIT", ex, replies[-1])
        ads = [Advertise(f) for f in ex.replies if f.msg_type == ADVERTISE]
        ads.sort(key=lambda a: (a.frame.malformed or not (a.address or a.prefix), -a.preference))
        self.advertises = ads
        self._asked = (ia_na, ia_pd)
        # RFC 8415 18.2.9: an ADVERTISE that offers no address and no prefix is not requested.
        useful = [a for a in ads if a.address or a.prefix]
        result = self._result("SOLICIT", ex, "offered" if useful else "refused" if ads else "timeout")
        result.offers = list(ads)  # type: ignore[arg-type]
        if ads and not useful:
            result.note = "; ".join(sorted({a.frame.message or "nothing offered" for a in ads}))
        if not useful:
            self.state = "INIT"
        return self._finish(result, "ADVERTISE")

    @interruptible("REQUEST")
    def request(self, advertise: Advertise | int = 0, *, timeout: float | None = None, **kw: Any) -> Result:
        """REQUESTs what an ADVERTISE offered (default: the best one), from its server."""
        if isinstance(advertise, int):
            if not self.advertises:
                raise UsageError("nothing to request: run solicit() first")
            try:
                advertise = self.advertises[advertise]
            except IndexError:
                raise UsageError(f"there are {len(self.advertises)} ADVERTISEs: pick 0..{len(self.advertises) - 1}") \
                    from None
        f = advertise.frame
        na, pd = self._asked
        ias = self._ias_from([*f.ia_na, *f.ia_pd]) or (
            ([ia(IA_NA, self._iaid("NA"))] if na else []) + ([ia(IA_PD, self._iaid("PD"))] if pd else []))
        self.txid, self.state = new_txid(), "REQUESTING"
        return self._reply_exchange("REQUEST", REQUEST, [server_id(f.server_id or b""), *ias], timeout, **kw)

    @interruptible("SARR")
    def sarr(self, *, ia_na: bool = True, ia_pd: bool = False, rapid_commit: bool = False,
             timeout: float | None = None, window: float = 0.0, **kw: Any) -> Result:
        """SOLICIT, ADVERTISE, REQUEST, REPLY; or SOLICIT and REPLY when
        ``rapid_commit`` is asked for and the server does it."""
        start = time.monotonic()
        first = self.solicit(ia_na=ia_na, ia_pd=ia_pd, rapid_commit=rapid_commit, timeout=timeout, window=window,
                             **kw)
        if first.status != "offered":   # a rapid-commit REPLY (bound, refused, malformed), or nothing offered
            first.operation = "SARR"
            if first.reply is not None:
                first.note = "rapid commit" + ("; " + first.note if first.note else "")
            return first
        second = self.request(0, timeout=timeout, **kw)
        result = Result("SARR", second.status, xid=second.xid, sent=first.sent + second.sent,
                        received=first.received + second.received, ignored=first.ignored + second.ignored,
                        offers=first.offers, reply=second.reply, lease=second.lease,  # type: ignore[arg-type]
                        elapsed=time.monotonic() - start, steps=[first, second], note=second.note, family=6)
        self.last = result
        return result

    @interruptible("RENEW")
    def renew(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """RENEW to the server that gave the lease (its DUID), for every IA held."""
        lease = self._need_lease("renew")
        self.txid, self.state = new_txid(), "RENEWING"
        return self._reply_exchange("RENEW", RENEW, [server_id(lease.server_duid_bytes), *self._lease_ias(lease)],
                                    timeout, **kw)

    @interruptible("REBIND")
    def rebind(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """REBIND to any server (no server id), for every IA held."""
        lease = self._need_lease("rebind")
        self.txid, self.state = new_txid(), "REBINDING"
        return self._reply_exchange("REBIND", REBIND, self._lease_ias(lease), timeout, **kw)

    @interruptible("RELEASE")
    def release(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """RELEASEs every IA held and forgets the lease; the server's REPLY says how it went."""
        lease = self._need_lease("release")
        self.txid = new_txid()
        ex = self._exchange("RELEASE", RELEASE, [server_id(lease.server_duid_bytes), *self._lease_ias(lease)],
                            timeout, 0.0, lambda f: f.msg_type == REPLY, **kw)
        return self._status_result("RELEASE", ex, forget=True)

    @interruptible("DECLINE")
    def decline(self, address: str | None = None, *, timeout: float | None = None, **kw: Any) -> Result:
        """DECLINEs the lease's addresses (or one): in use by another host. Forgets the lease."""
        lease = self._need_lease("decline")
        self.txid = new_txid()
        na = [i for i in lease.ias if i.kind == "NA"]
        if address is not None:
            na = [IALease(i.kind, i.iaid, i.t1, i.t2, [a for a in i.addresses if a["address"] == address])
                  for i in na]
        ias = self._lease_ias(Lease6(lease.server_duid, [i for i in na if i.addresses]))
        if not ias:
            raise UsageError("no address to decline: the lease has none" + (f" equal to {address}" if address else ""))
        ex = self._exchange("DECLINE", DECLINE, [server_id(lease.server_duid_bytes), *ias], timeout, 0.0,
                            lambda f: f.msg_type == REPLY, **kw)
        return self._status_result("DECLINE", ex, forget=True)

    @interruptible("CONFIRM")
    def confirm(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """Asks whether the lease's addresses are still on this link (a cable
        replugged): REPLY Success, or NotOnLink (status refused)."""
        lease = self._need_lease("confirm")
        self.txid = new_txid()
        na = [i for i in lease.ias if i.kind == "NA"]
        ias = [ia(IA_NA, i.iaid, 0, 0, b"".join(iaaddr(a["address"]) for a in i.addresses)) for i in na]
        if not ias:
            raise UsageError("confirm6 needs an IA_NA address; a prefix-only lease has nothing to confirm")
        ex = self._exchange("CONFIRM", CONFIRM, ias, timeout, 0.0, lambda f: f.msg_type == REPLY, **kw)
        return self._status_result("CONFIRM", ex)

    @interruptible("INFORMATION-REQUEST")
    def info_request(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """Asks for configuration only (INFORMATION-REQUEST, no IA): the REPLY's
        DNS servers and domains, in ``.reply``. The lease is left as it is."""
        self.txid = new_txid()
        ex = self._exchange("INFORMATION-REQUEST", INFORMATION_REQUEST, [], timeout, 0.0,
                            lambda f: f.msg_type == REPLY, **kw)
        return self._status_result("INFORMATION-REQUEST", ex)

    @interruptible("SEND")
    def send_packet(self, raw: bytes, *, count: int = 1, timeout: float | None = None,
                    window: float = 0.2) -> Result:
        """Sends an IPv6 frame as it is (a packet crafted or edited by hand) ``count``
        times on the v6 socket, then collects the server messages with its
        transaction id (inside any relay layers) until ``window`` seconds after
        the first, or ``timeout`` seconds. ``dhcp.send_packet()`` and ``pkt_send()``
        come here for an IPv6 frame (through :meth:`_send_packet`: one save, theirs)."""
        return self._send_packet(raw, count=count, timeout=timeout, window=window)

    def _send_packet(self, raw: bytes, *, count: int, timeout: float | None, window: float) -> Result:
        from ..wire.frames6 import parse_frame6

        txid = parse_frame6(raw).txid
        self.transport6.answer_nd(self.link_local, self.endpoint.mac_bytes)
        ex = Exchange()
        for _ in range(max(1, count)):
            ex.sent.append((self.transport6.send(raw), raw))
            self.endpoint.record("out", raw, "SEND", txid)
        if txid is not None:
            ep = self.endpoint
            got = self.transport6.exchange(
                None, matches=lambda f: f.txid == txid and f.msg_type in (ADVERTISE, REPLY),
                timeout=self.timeout if timeout is None else timeout, window=window,
                on_receive=lambda f, ours: ep.record("in" if ours else "ignored", f.raw, "SEND", txid))
            ex.replies, ex.ignored = got.replies, got.ignored
        result = self._result("SEND", ex, "answered" if ex.replies else "timeout")
        result.xid = txid
        result.reply = ex.replies[-1] if ex.replies else None
        self.last = result
        return result

    # The names these had before every method on dhcp.v6 lost its "6" (the shell's helpers keep it).
    request6 = renamed("request", "request6", where="dhcp.v6.")
    renew6 = renamed("renew", "renew6", where="dhcp.v6.")
    rebind6 = renamed("rebind", "rebind6", where="dhcp.v6.")
    release6 = renamed("release", "release6", where="dhcp.v6.")
    decline6 = renamed("decline", "decline6", where="dhcp.v6.")
    confirm6 = renamed("confirm", "confirm6", where="dhcp.v6.")
