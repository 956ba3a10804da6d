"""The DHCPv6 client role's base: its identity (DUID, IAIDs, link-local
address), the exchange plumbing every operation shares (build, retransmit,
match, bind, refuse), its part of the state file and its display. The
operations themselves are :class:`~.client6.Client6`'s.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..errors import DhcpError, DhcpTimeout, StateError, UsageError
from ..link.transport6 import Retransmit6, Transport6
from ..state.endpoint import Endpoint, Role
from ..wire.dhcp6 import (
    ADVERTISE,
    DECLINE,
    IA_NA,
    IA_PD,
    RELAY_REPL,
    RELEASE,
    REPLY,
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
from ..wire.frames6 import Frame6
from ..wire.messages6 import DEFAULT_ORO, Relay6, client_id, elapsed, frame6, message6, oro, user_options
from .results4 import Result
from .results6 import Advertise, Lease6

STATES6 = ("INIT", "SOLICITING", "REQUESTING", "BOUND", "RENEWING", "REBINDING")


def new_txid() -> int:
    import random

    return random.getrandbits(24)


class Client6Base(Role):
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
        status = "malformed" if reply.malformed else ("refused" if reply.status and reply.status[0] else "answered")
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
        return f"<{type(self).__name__}\n  " + "\n  ".join(self.summary_lines()) + ">"

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
