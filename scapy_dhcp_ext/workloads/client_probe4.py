"""The server side of ``check_client()``: hooks on a running ``serve()`` that record what the client
sends and answer as the current phase says, and the phases (see :mod:`.client_checks4`). Each phase's
policy hands the client over to the next one's without a gap: no retransmission is waited out needlessly."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..wire import (
    ACK,
    ARP_REQUEST,
    DECLINE,
    DISCOVER,
    FRAME_XID,
    OFFER,
    REQUEST,
    ZERO_IP,
    arp_frame,
    ip_bytes,
    is_arp_reply_from,
    mac_bytes,
)
from ..wire.frames4 import Frame, parse_frame
from . import backoff4
from .checks import NoEvidence, Recorder
from .client_frames4 import from_elsewhere, rewrite
from .liveness import Chooser, Liveness

if TYPE_CHECKING:
    from ..roles.server4 import DhcpServer
    from .host import Host

# The other host that holds the address offered first; whom the foreign-chaddr OFFER is for.
IN_USE_MAC, OTHER_MAC = "02:00:5e:de:c1:1e", "02:00:5e:0f:0f:0f"


@dataclass
class Phase:
    """What one phase saw: the client's requests and our replies, in time order."""

    name: str
    start: float = 0.0
    end: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)
    error: str = ""    # why it could not run (no DISCOVER, say): each check that needs it is inconclusive


class ClientProbe:
    """The server side of the checks: hooks on ``serve()`` that record the client's requests and answer."""

    def __init__(self, session: Host, server: DhcpServer, *, mac: str | None, restart: Callable[[], Any] | None,
                 lease_time: int, t1: int, t2: int, wait: float, decline: bool,
                 release: Callable[[], Any] | None = None, renew: Callable[[], Any] | None = None,
                 slow: bool = False, inform: Callable[[], Any] | None = None) -> None:
        self.session, self.server = session, server
        self.target = mac_bytes(mac) if mac else None
        ep = session.endpoint
        self.chooser = Chooser(self.target, lambda: {ep.mac_bytes, *ep.transport.local_macs})
        # Callables: the device starts over; gives its lease back; renews now; sends a DHCPINFORM.
        self.restart, self.release, self.renew, self.inform = restart, release, renew, inform
        self.lease_time, self.t1, self.t2 = lease_time, t1, t2
        self.wait, self.decline, self.slow = wait, decline, slow   # slow: the checks that take minutes run too
        self.cond = threading.Condition()
        self.timeline: list[Frame] = []                 # the client's requests (time: epoch seconds)
        self.sent: list[tuple[float, bytes]] = []       # what we sent it
        self.policy: Callable[[Frame, bytes], Any] = self._push_to_discover
        self.phases: dict[str, Phase] = {}
        self.in_use: list[str] = []     # the address offered first, answered on ARP by "another host"
        self.nak_facts: dict[str, Any] = {}
        self.foreign_facts: dict[str, Any] = {}
        self.recorder = Recorder()
        self.foreign_ip = str(server.pool.network.broadcast_address - 2)
        self.life = Liveness(self.target, clock=time.time)   # its ARP probes and announcements too (RFC 5227)
        server.attach(self._observe, self._mutate, tap=self.life.feed)

    # -- the server's thread ------------------------------------------------

    def _observe(self, req: Frame) -> None:
        with self.cond:
            got = self.chooser.see(req.chaddr, req)   # the device: mac=, or the first MAC to send DHCP twice
            if got:
                self.target = self.chooser.target
                self.life.follow(req.chaddr)
                self.timeline.extend(got)
                self.cond.notify_all()

    def _mutate(self, req: Frame, raw: bytes) -> Any:
        from ..roles.server_hooks4 import normalise_replies

        if req.chaddr != self.target:
            return None   # only the client under test is answered
        with self.cond:
            out = normalise_replies(self.policy(req, raw), raw)
            now = time.time()
            self.sent += [(now + delay, one) for delay, one in out]
            self.cond.notify_all()
        return out

    def _push_to_discover(self, req: Frame, raw: bytes) -> Any:
        """Before the first phase: DISCOVERs unanswered, REQUESTs NAKed (back to DISCOVER)."""
        return self.server.nak_frame(req, "start over") if req.message_type == REQUEST else None

    def nak_policy(self, req: Frame, raw: bytes) -> Any:
        """OFFERs a DISCOVER, NAKs the REQUEST for it (renewals are ignored), then hands over to the next phase."""
        facts = self.nak_facts
        if "naked" in facts:
            return self.foreign_policy(req, raw)
        if req.message_type == DISCOVER and parse_frame(raw).message_type == OFFER:
            facts["discover"] = req
            return raw
        if req.message_type == REQUEST and _selecting(req) and "discover" in facts:
            facts["naked"] = req
            return self.server.nak_frame(req, "check_client: nak-restarts-discovery")
        return None

    def foreign_policy(self, req: Frame, raw: bytes) -> Any:
        """OFFERs with a wrong xid and a wrong chaddr before ours; to its REQUEST, a
        NAK from another server before our ACK."""
        facts = self.foreign_facts
        kind = parse_frame(raw).message_type
        if req.message_type == DISCOVER and kind == OFFER and "discover" not in facts:
            y = ipaddress.IPv4Address(parse_frame(raw).yiaddr)
            facts.update(discover=req, ours=str(y), foreign_xid=str(y + 1), foreign_chaddr=str(y + 2))
            xid = int.from_bytes(raw[FRAME_XID:FRAME_XID + 4], "big") ^ 0x5A5A5A5A
            return [rewrite(raw, yiaddr=str(y + 1), xid=xid),
                    rewrite(raw, yiaddr=str(y + 2), chaddr=mac_bytes(OTHER_MAC)), (0.5, raw)]
        if req.message_type == REQUEST and kind == ACK and _selecting(req) and "acked" not in facts \
                and "discover" in facts:
            facts["acked"] = req
            return [from_elsewhere(self.server.nak_frame(req, "a server you did not select"), self.foreign_ip),
                    (0.3, raw)]
        if req.message_type == REQUEST and kind == ACK:
            return raw
        return self.server.nak_frame(req, "not ours") if req.message_type == REQUEST else None

    def bind_policy(self, req: Frame, raw: bytes) -> Any:
        """Answers as a server does; the first address offered is "in use" (another host answers ARP for it)."""
        reply = parse_frame(raw)
        if req.message_type == DISCOVER and reply.message_type == OFFER and self.decline and not self.in_use:
            self.in_use.append(reply.yiaddr)
            self.session.transport.answer_arp(reply.yiaddr, mac_bytes(IN_USE_MAC))
        return raw

    # -- the caller's thread ----------------------------------------------------

    def wait_for(self, pred: Callable[[Frame], bool], until: float, after: float) -> Frame | None:
        """The first request at or after ``after`` (epoch) that ``pred`` likes, waiting until ``until``."""
        with self.cond:
            while True:
                found = next((f for f in self.timeline if f.time >= after and pred(f)), None)
                if found is not None or time.time() >= until:
                    return found
                self.cond.wait(min(0.2, max(0.0, until - time.time())))

    def set_policy(self, policy: Callable[[Frame, bytes], Any]) -> None:
        with self.cond:
            self.policy = policy

    def phase(self, name: str, run: Callable[[Phase], None]) -> Phase:
        """Runs a phase once; every check that needs it cites its frames."""
        if name not in self.phases:
            p = Phase(name, start=time.time())
            self.phases[name] = p
            try:
                run(p)
            except NoEvidence as exc:
                p.error = str(exc)
                raise
            except Exception as exc:   # a lever that failed, a device that did the unforeseen: every
                p.error = f"{type(exc).__name__}: {exc}"   # check that needs the phase says so
                raise NoEvidence(p.error) from exc
            finally:
                p.end = time.time()   # the policy stays as the phase left it, for the next to take over
        p = self.phases[name]
        if p.error:
            raise NoEvidence(f"the {name} phase could not run: {p.error}")
        with self.cond:
            frames = [("in", f.raw, f.time) for f in self.timeline if p.start <= f.time <= p.end]
            frames += [("out", raw, t) for t, raw in self.sent if p.start <= t <= p.end]
        self.recorder.cite(sorted(frames, key=lambda x: x[2]))
        return p

    def first_discover(self, after: float) -> Frame:
        """A DISCOVER from the client at or after ``after``: restarted when it can be, else NAKed towards it."""
        if self.restart is not None and self.wait_for(lambda f: f.message_type == DISCOVER, time.time() + 0.2,
                                                      after) is None:
            self.restart()
        got = self.wait_for(lambda f: f.message_type == DISCOVER, time.time() + self.wait, after)
        if got is None:
            raise NoEvidence(f"the client sent no DISCOVER within {self.wait:g} s"
                              + ("" if self.restart else "; give restart= to start it over"))
        return got

    def arp_answered(self, address: str) -> bool:
        """Whether anyone answers ARP for ``address`` within a second (three tries)."""
        ep = self.session.endpoint
        frame = arp_frame(ARP_REQUEST, sha=ep.mac_bytes, spa=ip_bytes(self.server.pool.server_ip), tha=bytes(6),
                          tpa=ip_bytes(address))
        def sent(raw: bytes) -> None:
            with self.cond:
                self.sent.append((time.time(), raw))

        address_b = ip_bytes(address)
        got = ep.transport.probe(frame, lambda f: is_arp_reply_from(f.raw, address_b), wait=0.35, tries=3,
                                 on_send=sent)
        if got is None:
            return False
        got.time = time.time()
        with self.cond:
            self.timeline.append(got)
        return True


# -- the phases ----------------------------------------------------------------

def silence_phase(t: ClientProbe) -> Phase:
    """DISCOVERs unanswered (REQUESTs NAKed) until the retransmissions settle a verdict (:mod:`.backoff4`)."""
    def run(p: Phase) -> None:
        discovers: list[Frame] = []
        done = threading.Event()

        def gaps() -> list[float]:
            return [b.time - a.time for a, b in zip(discovers, discovers[1:])]
        def policy(req: Frame, raw: bytes) -> Any:
            if done.is_set():
                return t.bind_policy(req, raw)   # the verdict is in: the next phase binds it
            if req.message_type == REQUEST:
                return t.server.nak_frame(req, "start over")
            if req.message_type != DISCOVER:
                return None
            discovers.append(req)
            if backoff4.enough(gaps()):
                done.set()
                return t.bind_policy(req, raw)
            return None

        t.set_policy(policy)
        first = t.first_discover(p.start)
        restarted = t.restart is None or first.time > p.start + 0.2   # first_discover() started it over
        while not done.is_set():
            last = discovers[-1].time if discovers else time.time()
            seen = gaps()
            if not seen and not restarted and time.time() > last + 5.5:
                restarted = True   # joined late in a long schedule: start it over rather than wait up to 64 s
                discovers.clear()
                t.restart()   # type: ignore[misc]
                continue
            if time.time() > last + backoff4.next_within(seen):
                p.facts["waited"] = time.time() - last
                done.set()   # no retransmission in time: that is the verdict
                break
            time.sleep(0.05)
        p.facts["discovers"] = list(discovers)
        t.set_policy(t.bind_policy)
    return t.phase("silence", run)


def bind_phase(t: ClientProbe) -> Phase:
    """OFFER (the address in use by another host, when declines are checked), ACK, and a lease."""
    def run(p: Phase) -> None:
        t.set_policy(t.bind_policy)
        silence = t.phases.get("silence")
        if silence is not None and silence.facts["discovers"]:
            # Its last DISCOVER was answered when the silence ended (or the next one will be).
            p.start = min(p.start, silence.facts["discovers"][-1].time)
        else:
            t.first_discover(p.start)
        first_ack = wait_sent(t, ACK, p.start, time.time() + t.wait + 20)
        in_use = t.in_use
        p.facts["in_use"] = in_use[0] if in_use else None
        if first_ack is None:
            raise NoEvidence(f"the client did not REQUEST our OFFER within {t.wait:g} s")
        declined = t.wait_for(lambda f: f.message_type == DECLINE, time.time() + (5.0 if t.decline else 0.0),
                              first_ack[0])
        p.facts["decline"] = declined
        if in_use:
            t.session.transport.forget_arp(in_use[0])
        ack = first_ack
        if declined is not None:   # RFC 2131 4.4.1: it waits 10 s before it starts over
            ack = wait_sent(t, ACK, declined.time, time.time() + t.wait + 10) or first_ack
        p.facts["ack"] = parse_frame(ack[1])
        p.facts["bound_at"] = ack[0]
    return t.phase("bind", run)


def wait_sent(t: ClientProbe, kind: int, after: float, until: float) -> tuple[float, bytes] | None:
    with t.cond:
        while True:
            got = [(ts, raw) for ts, raw in t.sent if ts >= after and parse_frame(raw).message_type == kind]
            if got or time.time() >= until:
                return got[0] if got else None
            t.cond.wait(min(0.2, max(0.0, until - time.time())))


def life_phase(t: ClientProbe) -> Phase:
    """Renewals and rebinds unanswered from bind to expiry, then ARP for the address."""
    bind = bind_phase(t)

    def run(p: Phase) -> None:
        done = threading.Event()

        def policy(req: Frame, raw: bytes) -> Any:
            # Silence until the ARP probe is done: it has to renew, rebind, then give the address up.
            return t.nak_policy(req, raw) if done.is_set() else None

        t.set_policy(policy)
        bound_at, ack = bind.facts["bound_at"], bind.facts["ack"]
        expiry = bound_at + t.lease_time
        while time.time() < expiry + 1.5:
            time.sleep(0.1)
        p.facts["still_answers"] = t.arp_answered(ack.yiaddr)
        p.facts["expired_at"] = expiry
        done.set()
    return t.phase("life", run)


def _selecting(req: Frame) -> bool:
    """A REQUEST that answers an OFFER: it names a server, or has no ciaddr (a renewal has one and names none)."""
    return req.server_id is not None or req.ciaddr == ZERO_IP


def await_fact(t: ClientProbe, facts: dict[str, Any], key: str, what: str) -> Any:
    """Waits for a policy to record ``key``: restarts the client after 6 s
    when it can, and gives up after ``wait``."""
    start = time.time()
    restarted = t.restart is None
    with t.cond:
        while key not in facts:
            now = time.time()
            if not restarted and now > start + 6.0:
                restarted = True
                t.cond.release()
                try:
                    t.restart()   # type: ignore[misc]
                finally:
                    t.cond.acquire()
                start = time.time()
            elif now > start + t.wait:
                hint = "" if t.restart else "; give restart= to start it over"
                raise NoEvidence(f"{what} within {t.wait:g} s{hint}")
            t.cond.wait(0.2)
        return facts[key]


def nak_phase(t: ClientProbe) -> Phase:
    def run(p: Phase) -> None:
        if "life" not in t.phases:
            t.set_policy(t.nak_policy)
        request = await_fact(t, t.nak_facts, "naked", "the client sent no DISCOVER and REQUEST to NAK")
        p.start = min(p.start, t.nak_facts["discover"].time)
        p.facts["discover"] = t.nak_facts["discover"]
        p.facts["after"] = t.wait_for(lambda f: f.message_type == DISCOVER, time.time() + 15.0, request.time + 0.001)
        p.facts["nak_at"] = request.time
    return t.phase("nak", run)


def foreign_phase(t: ClientProbe) -> Phase:
    def run(p: Phase) -> None:
        facts = t.foreign_facts
        if "nak" not in t.phases:
            t.set_policy(t.foreign_policy)
        discover = await_fact(t, facts, "discover", "the client sent no DISCOVER")
        p.start = min(p.start, discover.time)
        request = t.wait_for(lambda f: f.message_type == REQUEST, time.time() + t.wait, discover.time)
        if request is None:
            raise NoEvidence("the client did not REQUEST any OFFER")
        facts["request"] = request
        ack = wait_sent(t, ACK, request.time, time.time() + 2.0)
        if ack is not None:
            facts["ack_at"] = ack[0]
            facts["after"] = t.wait_for(lambda f: f.message_type == DISCOVER, time.time() + 4.0, ack[0])
        p.facts.update(facts)
    return t.phase("foreign", run)
