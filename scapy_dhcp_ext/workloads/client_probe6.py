"""The server side of ``check_client6()``: hooks on a running ``serve6()`` that record what the
client sends and answer as the current phase says, and the phases (see :mod:`.client_checks6`).

The phases, each run once when a check first needs it, in this order:

- ``solicit``: nothing answered; its SOLICITs (from a restart, when ``restart`` is given, so that
  the first is its first) show the retransmission (RFC 8415 15) and the SOLICIT's contents.
- ``noaddrs``: its next SOLICIT gets an ADVERTISE that holds no address and no prefix
  (NoAddrsAvail): a client must not REQUEST on it (18.2.9).
  A client that did not ask for Rapid Commit gets a REPLY with Rapid Commit first, then the
  ADVERTISE: it must discard the REPLY (18.2.1) and REQUEST on the ADVERTISE.
- ``bind``: ADVERTISE, REQUEST, REPLY, with short lifetimes, T1 and T2.
- ``renew``: its RENEW at T1, answered; ``rebind``: its RENEWs unanswered, its REBIND at T2
  answered with a lease of a few seconds (:mod:`.client_phases6`'s ``expire`` lets it run out).
- ``expire`` (:mod:`.client_phases6`): nothing answered until that lease's valid lifetime ends;
  neighbour solicitations for its address while valid and after show whether it stopped using it.
  Then it is served again, with long timers, so that the client is quiet after it.
- ``reconfigure``: a RECONFIGURE without authentication (to be ignored), then, if it sent
  Reconfigure Accept and so holds a key, a signed one (to be answered).
- ``release``, ``restart``, ``link`` and ``decline``, each only when a check needs it: with
  ``release=`` and ``restart=``, its RELEASE (from a settled binding: some clients exit after
  it), then its first message after a restart (the DUID and IAIDs it keeps); with
  ``link_change=``, once it is bound again, its first message after its link went down and up
  (CONFIRM or REBIND); with ``restart=``, once bound again, a restart whose addresses we defend
  when its DAD asks (a DECLINE is due).
- ``solmaxrt`` (slow: about 3 minutes, only when asked): a restart, an ADVERTISE with NoAddrsAvail
  and SOL_MAX_RT 60 to its first SOLICIT, and its SOLICITs after, unanswered, until the gaps have
  reached the cap twice.
  A device that gave its lease back and was not restarted by a check is restarted at the end.

A client that comes back from a restart with a lease of an earlier server REBINDs or CONFIRMs
first: before ``bind``, a REBIND gets its addresses back with lifetimes 0 and a CONFIRM gets
NotOnLink (18.2.10.1), so that it starts over with a SOLICIT.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..wire import mac_str
from ..wire.dhcp6 import (
    ADVERTISE,
    CONFIRM,
    DHCP6_AT,
    IP6_SRC,
    RAPID_COMMIT,
    REBIND,
    RELEASE,
    RENEW,
    REPLY,
    REQUEST,
    SOLICIT,
    ip6_str,
    neighbour_solicited,
    status_option,
)
from ..wire.frames6 import Frame6, parse_frame6
from ..wire.messages6 import client_id, message6, rapid_commit, server_id
from ..wire.replies6 import reply_frame6, start_over
from .checks import NoEvidence, Recorder

if TYPE_CHECKING:
    from ..roles.server6 import Dhcp6Server

NO_ADDRS_AVAIL, NOT_ON_LINK = 2, 4
EXPIRING = (4, 6, 8, 12)   # t1, t2, preferred, valid of the lease the expire phase lets run out
# run only for their own checks, never first
OPTIONAL = ("link", "release", "restart", "decline", "solmaxrt", "firstdelay")
# phases that build on none of the others (a restart starts it over)
NEEDS: dict[str, tuple[str, ...]] = {"solmaxrt": (), "firstdelay": ()}


@dataclass
class Phase6:
    """What one phase saw, and why it could not run (each check that needs it is then inconclusive)."""

    name: str
    start: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class ClientProbe6:
    """The server side of the checks: hooks on ``serve6()`` that record the client's messages and answer."""

    def __init__(self, server: Dhcp6Server, *, device: str | None, restart: Callable[[], Any] | None,
                 release: Callable[[], Any] | None, wait: float,
                 link_change: Callable[[], Any] | None = None) -> None:
        self.server = server
        self.device = device.lower() if device else None   # a MAC or a DUID in hex
        self.restart, self.release, self.wait = restart, release, wait
        self.link_change = link_change
        self.slow = False   # the phases that take minutes (solmaxrt) run only when asked
        self.cond = threading.Condition()
        self.duid: str | None = None          # the client under test, once seen
        self.mac: bytes | None = None
        self.timeline: list[Frame6] = []      # its messages (time: epoch seconds)
        self.sent: list[tuple[float, Frame6]] = []   # what we sent it
        self.policy: Callable[[Frame6, bytes], Any] = self._start_over
        self.phases: dict[str, Phase6] = {}
        self.recorder = Recorder()
        self.server_times = server.config.times   # the T1 and T2 of the lease it lives through
        self.dad: list[tuple[float, str]] = []   # duplicate address detection seen: (time, address)
        server.attach(self._observe, self._mutate, self._tap)

    # -- the server's thread ------------------------------------------------

    def _ours(self, f: Frame6) -> bool:
        """Whether ``f`` is the client under test's: ``device`` (a MAC or a DUID), else the first to send."""
        duid = (f.client_id or b"").hex()
        if self.duid is None:
            if f.relayed or not duid or self.device not in (None, duid, mac_str(f.eth_src)):
                return False
            self.duid, self.mac = duid, f.eth_src
        return duid == self.duid or (f.eth_src == self.mac and not f.relayed)

    def _observe(self, f: Frame6) -> None:
        with self.cond:
            if self._ours(f):
                self.timeline.append(f)
                self.cond.notify_all()

    def _tap(self, raw: bytes) -> None:
        """Every frame read: a neighbour solicitation from :: is someone's duplicate address detection."""
        target = neighbour_solicited(raw)
        if target is not None and raw[IP6_SRC:IP6_SRC + 16] == bytes(16):
            with self.cond:
                self.dad.append((time.time(), ip6_str(target)))
                self.cond.notify_all()

    def _mutate(self, f: Frame6, raw: bytes) -> Any:
        if not self._ours(f):
            return None   # only the client under test is answered
        with self.cond:
            out = self.policy(f, raw)
            for item in out if isinstance(out, list) else [] if out is None else [out]:
                one = item[1] if isinstance(item, tuple) else item
                self.sent.append((time.time(), parse_frame6(one)))
                self.recorder.add("out", one, time.time())
            self.cond.notify_all()
        return out

    # -- policies -----------------------------------------------------------

    def _start_over(self, f: Frame6, raw: bytes) -> bytes | None:
        """Nothing given; an old lease taken back: a REBIND's addresses with lifetimes 0, a CONFIRM NotOnLink."""
        return start_over(f, server_duid=self.server.duid, mac=self.server.endpoint.mac_bytes, src=self.server.address)

    def _reply(self, f: Frame6, msg_type: int, options: list[bytes]) -> bytes:
        body = message6(msg_type, f.txid or 0, [server_id(self.server.duid), client_id(f.client_id or b"")] + options)
        return reply_frame6(body, mac=self.server.endpoint.mac_bytes, src=self.server.address, to_mac=f.eth_src,
                            to=f.ip_src or "", relayed=False)

    def empty_advertise(self, f: Frame6) -> bytes:
        return self._reply(f, ADVERTISE, [status_option(NO_ADDRS_AVAIL, "nothing for you")])

    def rapid_reply(self, f: Frame6, advertise: bytes) -> bytes:
        """The server's ADVERTISE made a REPLY with Rapid Commit (what a server sends only when asked)."""
        body = bytes([REPLY]) + advertise[DHCP6_AT + 1:] + rapid_commit()
        return reply_frame6(body, mac=self.server.endpoint.mac_bytes, src=self.server.address, to_mac=f.eth_src,
                            to=f.ip_src or "", relayed=False)

    # -- waiting --------------------------------------------------------------

    def next_message(self, kinds: tuple[int, ...], after: int, until: float) -> tuple[int, Frame6] | None:
        """The first message of ``kinds`` from index ``after`` of the timeline, waiting until ``until``."""
        with self.cond:
            while True:
                for k in range(after, len(self.timeline)):
                    if self.timeline[k].msg_type in kinds:
                        return k, self.timeline[k]
                left = until - time.time()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def sent_after(self, kind: int, after: float, until: float) -> tuple[float, Frame6] | None:
        with self.cond:
            while True:
                got = [(t, f) for t, f in self.sent if t >= after and f.msg_type == kind]
                if got:
                    return got[0]
                left = until - time.time()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def cite(self, *frames: Frame6 | None) -> None:
        for f in frames:
            if f is not None:
                self.recorder.add("in", f.raw, f.time)

    # -- phases -----------------------------------------------------------------

    def leave_running(self) -> None:
        """A device that released (dhcpcd and dhcp6c then exit) is started again, when it can be."""
        if "release" in self.phases and "restart" not in self.phases and self.restart is not None:
            self.restart()

    def phase(self, name: str) -> Phase6:
        """The phase, run now if it has not run (the ones before it first); its error raises NoEvidence."""
        if name not in self.phases:
            for before in NEEDS.get(name, ORDER[:ORDER.index(name)]):
                if before in OPTIONAL:
                    continue
                try:
                    self.phase(before)
                except NoEvidence as exc:   # what it builds on did not happen: say so, once
                    self.phases[name] = Phase6(name, time.time(), error=f"the {before} phase could not run: {exc}")
                    raise NoEvidence(self.phases[name].error) from None
            p = self.phases[name] = Phase6(name, time.time())
            try:
                RUNS[name](self, p)
            except NoEvidence as exc:
                p.error = str(exc)
            except Exception as exc:   # a device that did something unforeseen: this phase's checks say what
                p.error = f"{type(exc).__name__}: {exc}"
        p = self.phases[name]
        if p.error:
            raise NoEvidence(p.error)
        return p


def _solicit(t: ClientProbe6, p: Phase6) -> None:
    """Nothing answered; three SOLICITs (from a restart, when it can: its first is then known)."""
    t.policy = t._start_over
    if t.restart is not None:
        p.facts["restart_at"] = time.time()
        t.restart()
    mark = len(t.timeline)
    solicits: list[Frame6] = []
    deadline = time.time() + t.wait
    while len(solicits) < 3:
        got = t.next_message((SOLICIT,), mark, deadline)
        if got is None:
            break
        mark = got[0] + 1
        solicits.append(got[1])
        deadline = got[1].time + max(t.wait, 3 * _gap(solicits))
    if not solicits:
        raise NoEvidence(f"no SOLICIT within {t.wait:.0f} s: is a DHCPv6 client on the link, and not bound "
                         "already? (restart= starts it over)")
    p.facts.update(solicits=solicits, fresh=t.restart is not None, index=mark)


def _gap(solicits: list[Frame6]) -> float:
    return solicits[-1].time - solicits[-2].time if len(solicits) > 1 else 1.0


def _noaddrs(t: ClientProbe6, p: Phase6) -> None:
    """Its next SOLICIT gets an ADVERTISE with nothing in it; a REQUEST before its next SOLICIT
    is one for that ADVERTISE (dropped). The next SOLICIT gets the server's own ADVERTISE."""
    given: list[Frame6] = []
    given_at: list[float] = []
    asked: list[Frame6] = []
    rapid: list[tuple[float, Frame6]] = []

    def policy(f: Frame6, raw: bytes) -> Any:
        if f.msg_type == SOLICIT and not given:
            given.append(f)
            given_at.append(time.time())
            return t.empty_advertise(f)
        if f.msg_type == REQUEST and given:
            asked.append(f)
            return None
        if f.msg_type == SOLICIT:
            t.policy = lambda f, raw: raw   # the bind phase's: the server answers as it would
            if f.msg is not None and f.msg.first(RAPID_COMMIT) is None and not rapid:
                rapid.append((time.time(), f))   # not asked for: a REPLY to discard, then the ADVERTISE
                return [(0.0, t.rapid_reply(f, raw)), (0.3, raw)]
            return raw
        return t._start_over(f, raw)

    solicits = t.phases["solicit"].facts["solicits"]
    with t.cond:   # the SOLICIT the empty ADVERTISE answers is whichever the policy meets first
        t.policy = policy
        deadline = time.time() + t.wait + 4 * _gap(solicits)
        while not given and time.time() < deadline:
            t.cond.wait(0.2)
    if not given:
        raise NoEvidence("no SOLICIT came to answer with an empty ADVERTISE")
    at = t.timeline.index(given[0]) if given[0] in t.timeline else len(t.timeline) - 1
    after = t.next_message((SOLICIT,), at + 1, time.time() + t.wait + 8 * _gap(solicits))
    p.facts.update(advertised=given[0], requested=asked[0] if asked else None, next=after[1] if after else None,
                   at=given_at[0], index=after[0] if after else len(t.timeline), rapid=rapid[0] if rapid else None)


def _bind(t: ClientProbe6, p: Phase6) -> None:
    """The server's own answers: ADVERTISE, then the REQUEST and its REPLY."""
    mark = t.phases["noaddrs"].facts["index"]
    t.policy = lambda f, raw: raw
    request = t.next_message((REQUEST,), mark, time.time() + t.wait + 60)
    if request is None:
        raise NoEvidence("no REQUEST after our ADVERTISE")
    reply = t.sent_after(REPLY, request[1].time - 0.5, time.time() + 5)
    if reply is None:
        raise NoEvidence("its REQUEST got no REPLY from the server (srv.log says why)")
    adverts = [f for when, f in t.sent if f.msg_type == ADVERTISE and f.addresses + f.prefixes]
    p.facts.update(request=request[1], reply_at=reply[0], reply=reply[1], advertise=adverts[-1] if adverts else None,
                   index=request[0])


def _renew(t: ClientProbe6, p: Phase6) -> None:
    bind = t.phases["bind"].facts
    cfg = t.server.config
    got = t.next_message((RENEW, REBIND), bind["index"] + 1, bind["reply_at"] + cfg.times[1] + t.wait)
    if got is None or got[1].msg_type != RENEW:
        p.facts["renew"] = None
        p.facts["instead"] = got[1] if got else None
        return
    # a client may renew each IA on its own (dhcp6c): its RENEWs that follow within 2 s are one renewal
    given = {a.prefix for a in bind["reply"].addresses + bind["reply"].prefixes}
    renews, index = [got[1]], got[0]
    while given - {a.prefix for f in renews for i in f.ia_na + f.ia_pd for a in i.addresses}:
        more = t.next_message((RENEW,), index + 1, got[1].time + 2.0)
        if more is None:
            break
        index = more[0]
        renews.append(more[1])
    reply = t.sent_after(REPLY, got[1].time - 0.5, time.time() + 5)
    p.facts.update(renew=got[1], renews=renews, at=got[1].time - bind["reply_at"],
                   reply_at=reply[0] if reply else None, index=index)


def _rebind(t: ClientProbe6, p: Phase6) -> None:
    """Its RENEWs unanswered: its REBIND at T2 (from the last REPLY it took), answered with long timers."""
    renew = t.phases["renew"].facts
    bind = t.phases["bind"].facts
    last = renew.get("reply_at") or bind["reply_at"]
    start = renew.get("index", bind["index"]) + 1
    cfg = t.server.config
    t2 = cfg.times[1]
    cfg.t1, cfg.t2, cfg.preferred, cfg.valid = EXPIRING   # the REPLY to its REBIND: the expire phase's lease
    t.policy = lambda f, raw: None if f.msg_type == RENEW else raw
    got = t.next_message((REBIND,), start, last + t2 + t.wait)
    instead = [f.type_name for f in t.timeline[start:]] if got is None else []
    p.facts.update(rebind=got[1] if got else None, at=got[1].time - last if got else None, t2=t2, last=last,
                   instead=", ".join(f"{instead.count(k)} {k}" for k in dict.fromkeys(instead)) or "nothing")
    if got is not None:
        t.sent_after(REPLY, got[1].time - 0.5, time.time() + 5)
    t.policy = lambda f, raw: None   # the expire phase's: nothing answered until its lease ends


def _reconfigure(t: ClientProbe6, p: Phase6) -> None:
    """A RECONFIGURE (renew) without authentication, then a signed one; only a RENEW or REBIND answers
    one. A client that let its lease run out (no REBIND in time) is first seen bound again."""
    t.policy = lambda f, raw: raw
    if t.phases["expire"].facts.get("bound_again") is None:
        raise NoEvidence("it held no binding after its lease ran out (no REPLY went to it since)")
    mark = len(t.timeline)
    t.server.reconfigure(t.duid, kind="renew", authenticated=False)
    p.facts["unauth"] = t.next_message((RENEW, REBIND), mark, time.time() + 4)
    if t.duid in t.server.ctx.keys:
        mark = len(t.timeline)
        t.server.reconfigure(t.duid, kind="renew")
        p.facts["auth"] = t.next_message((RENEW,), mark, time.time() + 4)
        p.facts["keyed"] = True
    else:
        p.facts["keyed"] = False


def _restart(t: ClientProbe6, p: Phase6) -> None:
    if t.restart is None:
        raise NoEvidence("needs restart= (a device that starts over)")
    before = t.phases["bind"].facts["request"]
    mark = len(t.timeline)
    t.policy = lambda f, raw: raw
    t.restart()
    got = t.next_message((SOLICIT, REQUEST, CONFIRM, REBIND, RENEW), mark, time.time() + t.wait)
    if got is None:
        raise NoEvidence(f"nothing from it within {t.wait:.0f} s of its restart")
    p.facts.update(before=before, after=got[1])


def _release(t: ClientProbe6, p: Phase6) -> None:
    if t.release is None:
        raise NoEvidence("needs release= (a device that gives its lease back)")
    mark = len(t.timeline)
    t.policy = lambda f, raw: raw
    t.release()
    got = t.next_message((RELEASE,), mark, time.time() + t.wait)
    if got is None:
        raise NoEvidence(f"no RELEASE within {t.wait:.0f} s of asking for one")
    p.facts["release"] = got[1]


ORDER = ("solicit", "noaddrs", "bind", "renew", "rebind", "expire", "reconfigure", "release", "restart", "link",
         "decline", "solmaxrt", "firstdelay")
# expire, link and decline are :mod:`.client_phases6`'s, which adds them here
RUNS: dict[str, Callable[[ClientProbe6, Phase6], None]] = {
    "solicit": _solicit, "noaddrs": _noaddrs, "bind": _bind, "renew": _renew, "rebind": _rebind,
    "reconfigure": _reconfigure, "restart": _restart, "release": _release}
