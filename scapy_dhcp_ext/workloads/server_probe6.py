"""The client side of ``check_server6()``: clients of the checks' own (a DUID each, from the
endpoint's MAC and link-local address), one message at a time, on the session's v6 socket.
The checks are in :mod:`.server_checks6`."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import DhcpError
from ..link.exchange import Retransmit6
from ..wire.dhcp6 import (
    ADVERTISE,
    ALL_SERVERS,
    IA_NA,
    IA_PD,
    RELEASE,
    REQUEST,
    SOLICIT,
    duid_en,
    ia,
    iaaddr,
    iaprefix,
    ip6_bytes,
    link_local,
    multicast_mac,
)
from ..wire.frames6 import Frame6
from ..wire.messages6 import Relay6, client_id, elapsed, frame6, message6, oro, server_id
from .checks import NoEvidence, Recorder

DOCUMENTATION_ENTERPRISE = 32473   # RFC 5612: for examples and tests


@dataclass
class Ask6:
    """One message sent and what came back with its transaction id."""

    sent: bytes
    replies: list[Frame6] = field(default_factory=list)

    @property
    def reply(self) -> Frame6 | None:
        return self.replies[0] if self.replies else None


class ServerProbe6:
    """Sends the checks' messages and keeps what each check sent and saw as its evidence."""

    def __init__(self, endpoint: Any, *, wait: float, quiet: float, server: str | None = None) -> None:
        self.endpoint = endpoint
        self.transport = endpoint.transport6
        self.mac = endpoint.mac_bytes
        self.address = link_local(self.mac)
        self.wait, self.quiet, self.want = wait, quiet, server
        self.recorder = Recorder()
        self.server_duid: bytes | None = None
        self.server_ip: str | None = None
        self.server_mac: bytes | None = None
        self.duid = b""                            # the shared client's DUID, and the ADVERTISE it got
        self._advertise: Frame6 | None = None
        # A server resolves our link-local address first; our own serve6() may answer for it already.
        self._own_nd = ip6_bytes(self.address) not in self.transport.nd_addresses
        self.transport.answer_nd(self.address, self.mac)

    def close(self) -> None:
        if self._own_nd:
            self.transport.forget_nd(self.address)

    @staticmethod
    def new_duid() -> bytes:
        return duid_en(DOCUMENTATION_ENTERPRISE, os.urandom(8))

    def ask(self, msg_type: int, options: list[bytes], *, quiet: bool = False, relay: Relay6 | None = None,
            unicast: bool = False, txid: int | None = None) -> Ask6:
        """Sends one message (once) and collects what comes back with its transaction id, for
        ``wait`` seconds or, when the rule asks for silence, ``quiet`` seconds."""
        txid = random.getrandbits(24) if txid is None else txid
        payload = message6(msg_type, txid, options)
        if relay is not None:
            payload = relay.wrap(payload, self.address)
        if unicast:
            if self.server_ip is None or self.server_mac is None:
                raise NoEvidence("the server's own address is not known")
            raw = frame6(payload, mac=self.mac, dst=self.server_ip, dst_mac=self.server_mac)
        else:
            raw = frame6(payload, mac=self.mac, dst=ALL_SERVERS, dst_mac=multicast_mac(ALL_SERVERS),
                         relay=relay is not None)
        ex = self.transport.exchange(lambda _e: raw, matches=lambda f: f.txid == txid,
                                     timeout=self.quiet if quiet else self.wait,
                                     schedule=Retransmit6(irt=60.0, mrc=1), window=0.2 if quiet else 0.0,
                                     done=lambda f: not quiet)
        got = Ask6(raw, [f for f in ex.replies if self._from_server(f)])
        t = ex.sent[0][0] if ex.sent else 0.0
        self.recorder.add("out", raw, t)
        for f in got.replies:
            self.recorder.add("in", f.raw, f.time)
        return got

    def _from_server(self, f: Frame6) -> bool:
        return self.server_duid is None or f.server_id == self.server_duid or f.relayed

    # -- the messages ------------------------------------------------------------

    def solicit(self, duid: bytes, *extra: bytes, pd: bool = False, **kw: Any) -> Ask6:
        ias = [ia(IA_NA, 1)] + ([ia(IA_PD, 2)] if pd else [])
        return self.ask(SOLICIT, [client_id(duid), elapsed(0), oro((23, 24, 82)), *ias, *extra], **kw)

    def request(self, duid: bytes, advertise: Frame6, *extra: bytes, **kw: Any) -> Ask6:
        return self.ask(REQUEST, [client_id(duid), server_id(advertise.server_id or b""), elapsed(0),
                                  *held_ias(advertise), *extra], **kw)

    def bound(self, *, pd: bool = False) -> tuple[bytes, Frame6]:
        """A new client of ours, SOLICIT to REPLY: its DUID and the REPLY."""
        duid = self.new_duid()
        adv = self.solicit(duid, pd=pd).reply
        if adv is None or adv.msg_type != ADVERTISE or not adv.addresses:
            raise NoEvidence("no ADVERTISE with an address to our SOLICIT")
        reply = self.request(duid, adv).reply
        if reply is None or not reply.addresses:
            raise NoEvidence("no REPLY with an address to our REQUEST")
        return duid, reply

    def advertised(self) -> Frame6:
        """An ADVERTISE to a new client of ours (``duid``), asked once and shared by the checks."""
        if self._advertise is None:
            self.duid = self.new_duid()
            got = self.solicit(self.duid, pd=True).reply
            if got is None:
                raise NoEvidence("no ADVERTISE to our SOLICIT")
            self._advertise = got
        return self._advertise

    def learn(self) -> Frame6:
        """The server under test: the first to ADVERTISE (or the one whose DUID, hex, is ``server``)."""
        got = self.solicit(self.new_duid(), pd=True)
        for f in got.replies:
            if self.want is None or (f.server_id or b"").hex() == self.want.lower():
                self.server_duid, self.server_ip, self.server_mac = f.server_id, f.ip_src, f.eth_src
                return f
        raise DhcpError(f"no DHCPv6 server ADVERTISEd on {self.endpoint.iface} within {self.wait} s"
                        + (f" (none with DUID {self.want})" if self.want else ""))


def held_ias(reply: Frame6, *, lifetimes: bool = False) -> list[bytes]:
    """The IAs of a server's message as a client sends them back (lifetimes 0 unless asked)."""
    out = []
    for i in reply.ia_na:
        inner = b"".join(iaaddr(a.address, *(a.preferred, a.valid) if lifetimes else (0, 0)) for a in i.addresses)
        out.append(ia(IA_NA, i.iaid, 0, 0, inner))
    for i in reply.ia_pd:
        inner = b"".join(iaprefix(a.prefix, *(a.preferred, a.valid) if lifetimes else (0, 0)) for a in i.addresses)
        out.append(ia(IA_PD, i.iaid, 0, 0, inner))
    return out


MOST_CLIENTS = 2048   # a pool larger than this is not filled


@dataclass
class Filled:
    """What :func:`fill_pool` saw: how many it bound, and how it ended."""

    bound: int = 0
    full: bool = False        # an ADVERTISE offered nothing: ``last`` is it
    silent: bool = False      # a SOLICIT got no ADVERTISE
    stuck: bool = False       # an ADVERTISE offered an address its REQUEST did not get
    hit: Frame6 | None = None   # the ADVERTISE ``until`` stopped at
    last: Frame6 | None = None


def fill_pool(t: ServerProbe6, until: Callable[[Frame6], bool] | None = None) -> Filled:
    """New clients SOLICIT and REQUEST until an ADVERTISE offers nothing (the pool is full), ``until``
    is true of an ADVERTISE, or :data:`MOST_CLIENTS` are bound; then every binding is RELEASEd."""
    out, bound = Filled(), []
    try:
        for _k in range(MOST_CLIENTS):
            duid = t.new_duid()
            adv = t.solicit(duid).reply
            out.last = adv
            if adv is None:
                out.silent = True
                break
            if adv.msg_type == ADVERTISE and not adv.addresses:
                out.full = True
                break
            if until is not None and until(adv):
                out.hit = adv
                break
            reply = t.request(duid, adv).reply
            if reply is None or not reply.addresses:
                out.stuck = True
                break
            bound.append((duid, reply))
    finally:
        out.bound = len(bound)
        for duid, reply in bound:   # every address back
            t.ask(RELEASE, [client_id(duid), server_id(reply.server_id or b""), elapsed(0), *held_ias(reply)])
    return out
