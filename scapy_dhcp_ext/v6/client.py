"""The DHCPv6 client role: SOLICIT, ADVERTISE, REQUEST, REPLY and the rest of
a lease's life, on the same endpoint (interface, MAC, history, state file) as
the v4 client. In the shell it is ``dhcp.v6``, and its operations are helpers::

    >>> r = sarr(ia_na=True, ia_pd=True)       # SOLICIT, ADVERTISE, REQUEST, REPLY
    >>> r.lease.address, r.lease.prefix, r.lease.t1
    ('fd77:1::100', 'fd77:1:2::/56', 1000)
    >>> sarr(rapid_commit=True)                # SOLICIT and REPLY
    >>> renew6(); rebind6(); confirm6(); info_request(); release6()

Every operation takes ``timeout=``, ``options=`` (more options: by name, by
code, or raw bytes; see :func:`.packets.user_options`), ``relay=`` (a
:class:`.packets.Relay6`, or set ``dhcp.v6.relay``) and returns a
:class:`~scapy_dhcp_ext.results.Result` whose ``.lease`` is a
:class:`.results.Lease6`. Status: advertised, bound (a REPLY that binds),
refused (a REPLY whose status code says no: ``note`` says which), reply
(RELEASE, DECLINE, CONFIRM, INFORMATION-REQUEST answered), malformed,
timeout (``DhcpTimeout`` raised, its ``.result`` holds what was sent),
interrupted. Retransmission follows RFC 8415 15 and 7.6.

RFCs: 8415 (client 18.2, DUIDs 11, IAID 12), 3646, 4649.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..endpoint import Endpoint, Role
from ..errors import DhcpError, DhcpTimeout, StateError, UsageError
from ..interrupts import interruptible
from ..results import Result
from ..transport import Exchange
from ..wire.dhcp6 import (
    ADVERTISE,
    CONFIRM,
    DECLINE,
    IA_NA,
    IA_PD,
    INFORMATION_REQUEST,
    REBIND,
    RELAY_REPL,
    RELEASE,
    RENEW,
    REPLY,
    REQUEST,
    SOLICIT,
    STATUS6,
    duid_en,
    duid_ll,
    duid_llt,
    duid_uuid,
    ia,
    iaaddr,
    iaprefix,
    link_local,
)
from .frames import Frame6
from .packets import DEFAULT_ORO, Relay6, client_id, elapsed, frame6, message6, oro, server_id, user_options
from .packets import rapid_commit as rapid_commit_option
from .results import Advertise, IALease, Lease6
from .transport import Retransmit6, Transport6

STATES6 = ("INIT", "SOLICITING", "REQUESTING", "BOUND", "RENEWING", "REBINDING")


def new_txid() -> int:
    import random

    return random.getrandbits(24)


class Dhcp6Session(Role):
    """The v6 client role on an endpoint: its DUID, IAIDs, ADVERTISEs and lease.

    ``duid`` is DUID-LL of the endpoint's MAC unless set (:meth:`use_duid`);
    it is kept in the state file, as are the IAIDs and the lease."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 3.0, window: float = 0.3) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.window = window
        self.relay: Relay6 | None = None
        self.oro: tuple[int, ...] = DEFAULT_ORO
        self.state = "INIT"
        self.lease: Lease6 | None = None
        self.advertises: list[Advertise] = []
        self.txid: int | None = None
        self.last: Any = None
        self.schedule: dict[str, Retransmit6] = {}   # per message, else RFC 8415's own
        self._duid: bytes | None = None
        self._duid_kind = "LL"
        self.iaid_na: int | None = None
        self.iaid_pd: int | None = None
        self._asked = (True, False)   # the IAs the last SOLICIT asked for (IA_NA, IA_PD)
        self._depth = 0
        self._finished: list[Result] = []
        endpoint.sections["client6"] = self.to_dict
        endpoint.on_change.append(self._mac_changed)
        if endpoint.same_link:
            self._restore(endpoint.saved.get("v6"))

    # -- identity -----------------------------------------------------------

    @property
    def duid(self) -> bytes:
        if self._duid is None:
            self._duid = duid_llt(self.mac, time.time()) if self._duid_kind == "LLT" else duid_ll(self.mac)
        return self._duid

    @duid.setter
    def duid(self, value: bytes) -> None:
        self.use_duid(raw=value)

    def use_duid(self, kind: str = "LL", *, enterprise: int = 0, identifier: bytes = b"", uuid: bytes | None = None,
                 raw: bytes | None = None) -> bytes:
        """Chooses the client's DUID (RFC 8415 11): ``"LL"`` or ``"LLT"`` of the
        MAC, ``"EN"`` (``enterprise``, ``identifier``), ``"UUID"`` (16 bytes), or
        ``raw`` bytes as they are. A new DUID is a new client: the lease is forgotten."""
        kind = "RAW" if raw is not None else kind.upper()
        if kind == "EN":
            duid = duid_en(enterprise, identifier)
        elif kind == "UUID":
            if uuid is None:
                import uuid as uuidlib

                uuid = uuidlib.uuid4().bytes
            try:
                duid = duid_uuid(uuid)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        elif kind == "RAW":
            duid = bytes(raw or b"")
        elif kind == "LLT":
            duid = duid_llt(self.mac, time.time())
        elif kind == "LL":
            duid = duid_ll(self.mac)
        else:
            raise UsageError(f"unknown DUID type {kind!r}: LL, LLT, EN, UUID, or raw=b'...'")
        self._duid, self._duid_kind = duid, kind
        self._forget("reset")
        self.endpoint.save()
        return duid

    def _iaid(self, kind: str) -> int:
        if self.iaid_na is None or self.iaid_pd is None:
            base = int.from_bytes(self.endpoint.mac_bytes[2:6], "big")
            self.iaid_na, self.iaid_pd = base, (base + 1) & 0xFFFFFFFF
        return self.iaid_na if kind == "NA" else self.iaid_pd

    @property
    def link_local(self) -> str:
        return link_local(self.endpoint.mac_bytes)

    @property
    def transport6(self) -> Transport6:
        return self.endpoint.transport6

    def _mac_changed(self) -> None:
        if self._duid_kind in ("LL", "LLT"):
            self._duid = None
        self.iaid_na = self.iaid_pd = None
        self._forget("reset")

    def _forget(self, _event: str) -> None:
        if self.endpoint.has_transport6:
            self.transport6.forget_nd()
        self.lease, self.advertises, self.txid, self.state = None, [], None, "INIT"

    def reset(self) -> None:
        """Back to INIT: no lease, no ADVERTISEs. The DUID and history stay."""
        self._forget("reset")
        self.endpoint.save()

    # -- operations -----------------------------------------------------------

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
        result = self._result("SOLICIT", ex, "advertised" if useful else "refused" if ads else "timeout")
        result.offers = list(ads)  # type: ignore[arg-type]
        if ads and not useful:
            result.note = "; ".join(sorted({a.frame.message or "nothing offered" for a in ads}))
        if not useful:
            self.state = "INIT"
        return self._finish(result, "ADVERTISE")

    @interruptible("REQUEST")
    def request6(self, advertise: Advertise | int = 0, *, timeout: float | None = None, **kw: Any) -> Result:
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
        if first.status != "advertised":   # a rapid-commit REPLY (bound, refused, malformed), or nothing offered
            first.operation = "SARR"
            if first.reply is not None:
                first.note = "rapid commit" + ("; " + first.note if first.note else "")
            return first
        second = self.request6(0, timeout=timeout, **kw)
        result = Result("SARR", second.status, xid=second.xid, sent=first.sent + second.sent,
                        received=first.received + second.received, ignored=first.ignored + second.ignored,
                        offers=first.offers, reply=second.reply, lease=second.lease,  # type: ignore[arg-type]
                        elapsed=time.monotonic() - start, steps=[first, second], note=second.note, family=6)
        self.last = result
        return result

    @interruptible("RENEW")
    def renew6(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """RENEW to the server that gave the lease (its DUID), for every IA held."""
        lease = self._need_lease("renew6")
        self.txid, self.state = new_txid(), "RENEWING"
        return self._reply_exchange("RENEW", RENEW, [server_id(lease.server_duid_bytes), *self._lease_ias(lease)],
                                    timeout, **kw)

    @interruptible("REBIND")
    def rebind6(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """REBIND to any server (no server id), for every IA held."""
        lease = self._need_lease("rebind6")
        self.txid, self.state = new_txid(), "REBINDING"
        return self._reply_exchange("REBIND", REBIND, self._lease_ias(lease), timeout, **kw)

    @interruptible("RELEASE")
    def release6(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """RELEASEs every IA held and forgets the lease; the server's REPLY says how it went."""
        lease = self._need_lease("release6")
        self.txid = new_txid()
        ex = self._exchange("RELEASE", RELEASE, [server_id(lease.server_duid_bytes), *self._lease_ias(lease)],
                            timeout, 0.0, lambda f: f.msg_type == REPLY, **kw)
        return self._status_result("RELEASE", ex, forget=True)

    @interruptible("DECLINE")
    def decline6(self, address: str | None = None, *, timeout: float | None = None, **kw: Any) -> Result:
        """DECLINEs the lease's addresses (or one): in use by another host. Forgets the lease."""
        lease = self._need_lease("decline6")
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
    def confirm6(self, *, timeout: float | None = None, **kw: Any) -> Result:
        """Asks whether the lease's addresses are still on this link (a cable
        replugged): REPLY Success, or NotOnLink (status refused)."""
        lease = self._need_lease("confirm6")
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
    def send_packet(self, raw: bytes, *, count: int = 1, wait: float | None = None, window: float = 0.2) -> Result:
        """Sends an IPv6 frame as it is (a packet crafted or edited by hand) ``count``
        times on the v6 socket, then collects the server messages with its
        transaction id (inside any relay layers) until ``window`` seconds after
        the first, or ``wait`` seconds. ``dhcp.send_packet()`` and ``pkt_send()``
        come here for an IPv6 frame (through :meth:`_send_packet`: one save, theirs)."""
        return self._send_packet(raw, count=count, wait=wait, window=window)

    def _send_packet(self, raw: bytes, *, count: int, wait: float | None, window: float) -> Result:
        from .frames import parse_frame6

        txid = parse_frame6(raw).txid
        self.transport6.answer_nd(self.link_local, self.endpoint.mac_bytes)
        ex = Exchange()
        for _ in range(max(1, count)):
            ex.sent.append((self.transport6.send(raw), raw))
            self.endpoint.record("out", raw, "SEND", txid)
        if txid is not None:
            ep = self.endpoint
            got = self.transport6.exchange6(
                None, matches=lambda f: f.txid == txid and f.msg_type in (ADVERTISE, REPLY),
                timeout=self.timeout if wait is None else wait, window=window,
                on_receive=lambda f, ours: ep.record("in" if ours else "ignored", f.raw, "SEND", txid))
            ex.replies, ex.ignored = got.replies, got.ignored
        result = self._result("SEND", ex, "replied" if ex.replies else "no reply")
        result.xid = txid
        result.reply = ex.replies[-1] if ex.replies else None
        self.last = result
        return result

    def sweep_lengths6(self, *args: Any, **kwargs: Any) -> Any:
        """Every length of a SOLICIT, lying IPv6 and UDP lengths; see :func:`scapy_dhcp_ext.v6.sweep.sweep_lengths6`."""
        from .sweep import sweep_lengths6

        return sweep_lengths6(self, *args, **kwargs)

    def sweep_malformed6(self, *args: Any, **kwargs: Any) -> Any:
        """The v6 malformed catalog; see :func:`scapy_dhcp_ext.v6.sweep.sweep_malformed6`."""
        from .sweep import sweep_malformed6

        return sweep_malformed6(self, *args, **kwargs)

    def load6(self, *, clients: int = 1000, duration: float = 5.0, rate: float | None = None, window: int = 16,
              rapid_commit: bool = False, timeout: float = 1.0, progress: bool = True, seed: int | None = None) -> Any:
        """Many v6 clients (DUIDs) doing SARR, or rapid commit, at once, like
        perfdhcp -6; see :mod:`scapy_dhcp_ext.v6.load`."""
        from .load import run_load6

        result = run_load6(self.endpoint, clients=clients, duration=duration, rate=rate, window=window,
                           rapid_commit_=rapid_commit, timeout=timeout, progress=progress, seed=seed)
        self.last = result
        return result

    # -- plumbing ---------------------------------------------------------------

    def _need_lease(self, what: str) -> Lease6:
        if self.lease is None:
            raise UsageError(f"no v6 lease to {what.rstrip('6')}: run sarr() first")
        return self.lease

    @staticmethod
    def _ias_from(ias: list[Any]) -> list[bytes]:
        out = []
        for i in ias:
            held = [a for a in i.addresses if a.valid]
            if i.kind == "NA":
                out.append(ia(IA_NA, i.iaid, 0, 0, b"".join(iaaddr(a.address) for a in held)))
            elif i.kind == "PD":
                out.append(ia(IA_PD, i.iaid, 0, 0, b"".join(iaprefix(a.prefix) for a in held)))
        return out

    @staticmethod
    def _lease_ias(lease: Lease6) -> list[bytes]:
        out = []
        for i in lease.ias:
            if i.kind == "NA":
                inner = b"".join(iaaddr(a["address"], a["preferred"], a["valid"]) for a in i.addresses)
                out.append(ia(IA_NA, i.iaid, i.t1, i.t2, inner))
            else:
                inner = b"".join(iaprefix(f"{a['address']}/{a['prefix_len']}", a["preferred"], a["valid"])
                                 for a in i.addresses)
                out.append(ia(IA_PD, i.iaid, i.t1, i.t2, inner))
        return out

    def _exchange(self, operation: str, msg_type: int, body: list[bytes], timeout: float | None,
                  window: float, done: Callable[[Frame6], bool], *, options: Any = None,
                  relay: Relay6 | None = None) -> Any:
        try:
            extra = user_options(options)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        relay = relay or self.relay
        txid, duid, mac = self.txid or 0, self.duid, self.endpoint.mac_bytes
        ll = link_local(mac)
        head = [client_id(duid)]
        tail = ([oro(self.oro)] if self.oro and msg_type not in (RELEASE, DECLINE) else []) + extra

        def make(spent: float) -> bytes:
            payload = message6(msg_type, txid, [*head, elapsed(spent), *body, *tail])
            if relay is not None:
                return frame6(relay.wrap(payload, ll), mac=mac, src=relay.source or ll, relay=True)
            return frame6(payload, mac=mac, src=ll)

        def matches(f: Frame6) -> bool:
            if relay is not None and (f.outer is None or f.outer.msg_type != RELAY_REPL):
                return False
            return f.msg_type in (ADVERTISE, REPLY) and f.txid == txid and f.client_id == duid

        t6 = self.transport6
        t6.answer_nd(ll, mac)
        if relay is not None and relay.source:
            t6.answer_nd(relay.source, mac)
        ep = self.endpoint
        return t6.exchange6(make, matches=matches, timeout=self.timeout if timeout is None else timeout,
                            schedule=self.schedule.get(operation) or Retransmit6.rfc8415(operation),
                            window=window, done=done,
                            on_send=lambda _t, raw: ep.record("out", raw, operation, txid),
                            on_receive=lambda f, ours: ep.record("in" if ours else "ignored", f.raw, operation, txid))

    def _result(self, operation: str, ex: Any, status: str) -> Result:
        start = ex.sent[0][0] if ex.sent else time.monotonic()
        end = ex.replies[-1].time if ex.replies else self.transport6.clock()
        return Result(operation, status, xid=self.txid, sent=ex.sent, received=ex.replies, ignored=ex.ignored,
                      elapsed=max(0.0, end - start), family=6)

    def _reply_exchange(self, operation: str, msg_type: int, body: list[bytes], timeout: float | None,
                        **kw: Any) -> Result:
        ex = self._exchange(operation, msg_type, body, timeout, 0.0, lambda f: f.msg_type == REPLY, **kw)
        reply = next((f for f in reversed(ex.replies) if f.msg_type == REPLY), None)
        if reply is None:
            self.state = "BOUND" if self.lease is not None and operation != "REQUEST" else "INIT"
            return self._finish(self._result(operation, ex, "timeout"), "REPLY")
        return self._bound(operation, ex, reply)

    def _bound(self, operation: str, ex: Any, reply: Frame6) -> Result:
        """A REPLY to SOLICIT (rapid commit), REQUEST, RENEW or REBIND."""
        refusal = _refusal(reply)
        if reply.malformed:
            result = self._result(operation, ex, "malformed")
            result.note = f"the REPLY is malformed ({'; '.join(reply.problems[:4])}): no lease bound"
        elif refusal:
            result = self._result(operation, ex, "refused")
            result.note = refusal
        else:
            self.lease = Lease6.from_reply(reply, iface=self.iface)
            self.state, self.advertises = "BOUND", []
            result = self._result(operation, ex, "bound")
            result.lease = self.lease  # type: ignore[assignment]
            if self.lease.address:
                self.transport6.answer_nd(self.lease.address, self.endpoint.mac_bytes)
        if result.status != "bound":
            self.state = "BOUND" if self.lease is not None and operation in ("RENEW", "REBIND") else "INIT"
        result.reply = reply  # type: ignore[assignment]
        return self._finish(result, "REPLY")

    def _status_result(self, operation: str, ex: Any, *, forget: bool = False) -> Result:
        """A REPLY that carries a status only. ``forget``: the lease goes, answered
        or not (RFC 8415 18.2.7: a client does not use what it released)."""
        reply = next((f for f in reversed(ex.replies) if f.msg_type == REPLY), None)
        if forget:
            txid = self.txid
            self._forget("release")
            self.txid = txid
        if reply is None:
            return self._finish(self._result(operation, ex, "timeout"), "REPLY")
        status = "malformed" if reply.malformed else ("refused" if reply.status and reply.status[0] else "reply")
        result = self._result(operation, ex, status)
        result.reply = reply  # type: ignore[assignment]
        if reply.status is not None:
            result.note = f"status {STATUS6.get(reply.status[0], reply.status[0])}" + (
                f": {reply.status[1]}" if reply.status[1] else "")
        if reply.malformed:
            result.note = f"malformed: {'; '.join(reply.problems[:4])}"
        return self._finish(result, "REPLY")

    def _finish(self, result: Result, expected: str) -> Result:
        self.last = result
        self._finished.append(result)
        if result.status == "timeout":
            txid = f"{result.xid:#08x}" if result.xid is not None else "-"
            heard = f"; {len(result.ignored)} replies for other clients ignored" if result.ignored else ""
            raise DhcpTimeout(f"no {expected} on {self.iface} for {result.operation} txid {txid} "
                              f"({len(result.sent)} sent{heard}); raise timeout= or check the server", result)
        return result

    def _partial(self, operation: str, mark: int, steps: list[Result]) -> Result:
        entries = self.history.since(mark)
        return Result(operation, "interrupted", xid=self.txid,
                      sent=[(e.time, e.raw) for e in entries if e.direction == "out"],
                      received=[e.frame for e in entries if e.direction == "in"],  # type: ignore[misc]
                      steps=steps, note="Ctrl-C before it finished", family=6)

    def _save_noting(self, result: Result | None) -> None:
        self.endpoint.save()
        if self.endpoint.save_error and isinstance(result, Result):
            result.note = (result.note + "; " if result.note else "") + f"state not saved: {self.endpoint.save_error}"

    def save(self) -> str:
        if self.store is None:
            raise UsageError("this session keeps no state file")
        self.endpoint.save(now=True)
        if self.endpoint.save_error:
            raise StateError(self.endpoint.save_error)
        return str(self.store.path)

    # -- persistence ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"v6": {"state": self.state, "txid": self.txid, "duid": self._duid.hex() if self._duid else None,
                       "duid_kind": self._duid_kind, "iaid_na": self.iaid_na, "iaid_pd": self.iaid_pd,
                       "lease": self.lease.to_dict() if self.lease else None}}

    def _restore(self, saved: Any) -> None:
        if not isinstance(saved, dict):
            return
        try:
            if saved.get("state") in STATES6:
                self.state = saved["state"]
            if isinstance(saved.get("txid"), int):
                self.txid = saved["txid"]
            if isinstance(saved.get("duid"), str):
                self._duid = bytes.fromhex(saved["duid"])
            if saved.get("duid_kind") in ("LL", "LLT", "EN", "UUID", "RAW"):
                self._duid_kind = saved["duid_kind"]
            for key in ("iaid_na", "iaid_pd"):
                if isinstance(saved.get(key), int):
                    setattr(self, key, saved[key] & 0xFFFFFFFF)
            if isinstance(saved.get("lease"), dict):
                self.lease = Lease6.from_dict(saved["lease"])
        except (TypeError, ValueError, KeyError) as exc:
            self.messages.append(f"part of the saved v6 state was unusable ({exc}); v6 starts from INIT")
            self.lease, self.txid, self.state = None, None, "INIT"

    # -- display ----------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        try:
            duid = self.duid.hex()
        except (DhcpError, OSError):   # no interface yet: the DUID comes from its MAC
            duid = "(from the interface's MAC)"
        lines = [f"v6 iface {self.iface or '-'}  duid {duid}  state {self.state}"
                 + (f"  txid {self.txid:#08x}" if self.txid is not None else "")]
        lines.append(f"lease {self.lease.summary()}" if self.lease else "lease none")
        if self.advertises:
            lines.append("advertises " + ", ".join(f"{a.address or a.prefix} from {a.server_id} pref {a.preference}"
                                                   for a in self.advertises))
        if self.relay is not None:
            lines.append(f"relay {self.relay}")
        return lines

    def __repr__(self) -> str:
        return "<Dhcp6Session\n  " + "\n  ".join(self.summary_lines()) + ">"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape("\n".join(self.summary_lines())) + "</pre>"


def _refusal(reply: Frame6) -> str:
    """Why a REPLY binds nothing, in words ('' when it binds something)."""
    if reply.status is not None and reply.status[0]:
        return f"status {STATUS6.get(reply.status[0], reply.status[0])}: {reply.status[1] or '-'}"
    if reply.addresses or reply.prefixes:
        return ""
    said = [f"IA_{i.kind} {STATUS6.get(i.status[0], i.status[0])}" + (f": {i.status[1]}" if i.status[1] else "")
            for i in reply.ia_na + reply.ia_pd if i.status and i.status[0]]
    return "; ".join(said) or "the REPLY holds no address and no prefix"
