"""The client checks' later phases (part three, after :mod:`.client_probe4`'s five):
each takes the client as the earlier ones left it and changes one thing.

1. *infinite*: its next renewal is ACKed with a lease of 0xffffffff, infinity
   (RFC 2131 3.3), and no T1 or T2: it should stay bound and quiet (4 s: a client
   that misreads it as -1, 0 or a signed overflow renews or starts over at once);
2. *forcerenew*: then a FORCERENEW with no authentication: it should ignore it
   (RFC 3203 demands authentication, RFC 3118 or RFC 6704);
3. *routes*: that ACK also carried option 121 (when the client asked for it) with
   a default route through another router than option 3's; a ping from off its
   subnet shows which router it answers through (RFC 3442: 121 wins);
4. *reboot* (only with ``restart=``): the device starts over; a client that
   remembers its lease asks for it back with a REQUEST in INIT-REBOOT (RFC 2131
   3.2), the others DISCOVER; our ACK is long (no T1 in the phases after);
5. *nonce*: to a client that offered RFC 6704 (option 145), that ACK (without a
   restart, the infinite one) carried a nonce (option 90); a FORCERENEW signed with
   it should make it renew;
6. *release* (only with ``release=``): the device gives its lease back; its RELEASE.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ..wire import (
    ACK,
    DISCOVER,
    NAK,
    RELEASE,
    REQUEST,
    ZERO_IP,
    icmp_echo_frame,
    ip_bytes,
    is_icmp_echo_reply,
    mac_bytes,
    new_xid,
)
from ..wire.auth4 import AUTHENTICATION, digest_placeholder, nonce_option, offers_nonce, sign_forcerenew
from ..wire.frames4 import Frame, parse_frame
from .checks import NoEvidence
from .client_facts4 import lease_requests
from .client_probe4 import ClientProbe, Phase, bind_phase, wait_sent
from .liveness import PROBE_PHASE, PROBE_WAIT
from .reply_edit4 import encode, options_of, rebuild
from .reply_machine4 import FORCERENEW_WITHIN

INFINITE = 0xFFFFFFFF
OFF_LINK = "192.0.2.77"   # RFC 5737: a documentation address, never anyone's
OTHER_ROUTER_MAC = "02:00:5e:00:01:21"
QUIET = 4.0  # seconds after an infinite ACK that a client must stay quiet
ANSWER_AFTER = 0.2   # as a server across a network: BusyBox udhcpc drops an ACK that beats the close of its send socket
RETRANSMITTED = 1.5   # a REQUEST with the renewal's xid this soon after our ACK: the ACK crossed it
LONG = 600   # the lease given to a client that came back anyway: it stays quiet through the later phases


def with_lease(raw: bytes, lease: int, t1: int | None = None, t2: int | None = None,
               extra: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """An ACK of ours with option 51 set to ``lease`` and 58/59 to ``t1``/``t2`` (left out when None),
    and the ``extra`` options at the end."""
    items = [(c, p) for c, p in options_of(raw) if c not in (51, 58, 59)] + list(extra)
    at = next((i + 1 for i, (c, _p) in enumerate(items) if c == 54), len(items))
    times = [(51, lease.to_bytes(4, "big"))] + [(c, v.to_bytes(4, "big")) for c, v in ((58, t1), (59, t2))
                                                if v is not None]
    return rebuild(raw, encode(items[:at] + times + items[at:]))


def _renews(req: Frame, reply: bytes) -> bool:
    return req.message_type == REQUEST and req.ciaddr != ZERO_IP and parse_frame(reply).message_type == ACK


def infinite_phase(t: ClientProbe) -> Phase:
    """Answers as a server does until the client renews; that renewal's ACK is infinite
    (and so is the ACK to each retransmission of it). Then watches it for a while, and
    asks ARP whether it still holds the address."""
    def run(p: Phase) -> None:
        facts = p.facts
        acks: list[float] = []   # when each infinite ACK went
        asked: list[float] = []  # when renew= was called: the renewal it brings may cross one of its own

        def ours(req: Frame) -> bool:
            """The renewal we answer with infinity, a retransmission of it, or the one renew= asked for."""
            first = facts["renewal"]
            return req.xid == first.xid and (not acks or req.time - acks[-1] <= RETRANSMITTED) or any(
                0 <= req.time - at <= RETRANSMITTED for at in asked)

        def policy(req: Frame, raw: bytes) -> Any:
            if not _renews(req, raw):
                return raw
            facts.setdefault("renewal", req)
            routes = ((121, b"\x00" + ip_bytes(other_router(t))),) if 121 in req.options.get(55, b"") else ()
            if ours(req):
                acks.append(time.time() + ANSWER_AFTER)
                # RFC 6704: the key of its authenticated FORCERENEWs; with restart=, the ACK after it gives
                # it (dhcpcd holding a key DISCOVERs after a restart rather than ask for its lease back).
                nonce = _nonce(facts, req) if t.restart is None else ()
                return ANSWER_AFTER, with_lease(raw, INFINITE, extra=routes + nonce)
            # It came back: quiet from now on.
            return ANSWER_AFTER, with_lease(raw, LONG, LONG // 2, LONG * 7 // 8, extra=routes)

        if not t.phases:
            bind_phase(t)   # nothing ran before: a lease of the checks' own first
        if "life" in t.phases and not t.phases["life"].error and not lease_requests(t):
            raise NoEvidence("it renewed nothing in a whole lease (the life phase): no renewal to answer")
        t.set_policy(policy)
        if t.renew is not None:   # renew= asks it to renew now, once it holds a lease (and probed it)
            acked_at, held = settled(t)
            if held is not None:
                asked.append(time.time())
                t.renew()
        # Its next renewal: at T1 of a lease it holds (ARP probing first, for a new one), or after a DORA.
        until = time.time() + t.wait + t.lease_time + PROBE_PHASE
        with t.cond:
            while "renewal" not in facts and time.time() < until:
                t.cond.wait(0.2)
        if "renewal" not in facts:
            raise NoEvidence(f"the client did not renew a lease within {until - p.start:.0f} s")
        renewal = facts["renewal"]
        while True:   # a REQUEST that our ACK crossed (its xid, soon after) is answered again, not judged
            acked = wait_sent(t, ACK, acks[-1] - 0.001 if acks else renewal.time, time.time() + 2.0)
            if acked is None:
                raise NoEvidence("our ACK to its renewal was not sent")
            # A client that misreads 0xffffffff (as -1, as 0, a signed overflow) renews or starts over at once.
            quiet_until = acked[0] + min(t.t1, QUIET)
            back = t.wait_for(lambda f: f.message_type in (DISCOVER, REQUEST), quiet_until, acked[0] + 0.001)
            if back is None or not (ours(back) and len(acks) < 4):
                break
            wait_sent(t, ACK, back.time, time.time() + 2.0)
        facts.update(acked_at=acked[0], ack=parse_frame(acked[1]), quiet_until=quiet_until, came_back=back)
        facts["still_answers"] = t.arp_answered(facts["ack"].yiaddr)
    return t.phase("infinite", run)


def forcerenew_phase(t: ClientProbe) -> Phase:
    """A FORCERENEW with no authentication to the client sitting on a lease of
    ours that it has no reason to renew soon; then its requests for a while."""
    inf = infinite_phase(t)
    return t.phase("forcerenew", lambda p: _force(t, p, inf, None))


def _nonce(facts: dict[str, Any], req: Frame) -> tuple[tuple[int, bytes], ...]:
    """Option 90 with a nonce (kept in ``facts``) for an ACK to ``req``, if it offers RFC 6704."""
    if not offers_nonce(req.options):
        return ()
    return ((AUTHENTICATION, nonce_option(facts.setdefault("nonce", os.urandom(16)), 1)),)


def nonce_phase(t: ClientProbe) -> Phase:
    """To a client that offered RFC 6704 (option 145), an ACK carried a nonce (the one after
    the restart, with ``restart=``; else the infinite one): a FORCERENEW signed with it,
    then its requests for a while."""
    inf = infinite_phase(t)
    routes_phase(t)   # after the other FORCERENEW and the ping: the renewal it should make ends neither
    source = reboot_phase(t) if t.restart is not None else inf

    def run(p: Phase) -> None:
        acked_at, held = settled(t) if source is not inf else (0.0, inf.facts["ack"].yiaddr)
        p.facts["offered"] = "nonce" in source.facts
        if p.facts["offered"]:
            if held is None:
                raise NoEvidence("it holds no lease of ours after its restart")
            _force(t, p, inf, source.facts["nonce"], held)
    return t.phase("nonce", run)


def _force(t: ClientProbe, p: Phase, inf: Phase, key: bytes | None, address: str | None = None) -> None:
    ack = inf.facts["ack"]
    address = address or ack.yiaddr
    earlier = t.phases["forcerenew"].facts.get("request") if "forcerenew" in t.phases else None
    for renewal in (inf.facts["came_back"], earlier):
        if renewal is not None:   # it renewed (or started over): wait for our ACK, its lease is LONG now
            wait_sent(t, ACK, renewal.time, time.time() + 2.0)
    srv = t.server
    raw = srv.forcerenew_frame(ack.chaddr, address)
    if key is not None:   # replay 2: after the ACK's 1 (RFC 3118 2: monotonically increasing)
        raw = sign_forcerenew(rebuild(raw, encode(options_of(raw) + [(AUTHENTICATION, digest_placeholder(2))])), key)
    how = "signed with its nonce" if key else "no authentication"
    # Stamped before it goes: a client that answers at once can be heard before send() returns (a busy machine).
    sent_at = time.time()
    srv.send(raw, f"check_client: FORCERENEW to {address}, {how}")
    with t.cond:
        t.sent.append((sent_at, raw))
    p.facts["sent_at"] = sent_at
    p.facts["request"] = t.wait_for(lambda f: f.message_type in (REQUEST, DISCOVER),
                                    sent_at + FORCERENEW_WITHIN + 1.5, sent_at)
    p.facts["window"] = FORCERENEW_WITHIN + 1.5


def other_router(t: ClientProbe) -> str:
    """The default router of the option 121 in the infinite phase's ACK: not option 3's (our own address)."""
    return str(t.server.pool.network.broadcast_address - 3)


def routes_phase(t: ClientProbe) -> Phase:
    """Pings the client from off its subnet: its reply goes to its default router's MAC,
    option 121's (answered on ARP with OTHER_ROUTER_MAC) or option 3's (ours)."""
    inf = infinite_phase(t)
    forcerenew_phase(t)   # after it: a FORCERENEW it takes would bring a new ACK mid-way

    def run(p: Phase) -> None:
        ack = inf.facts["ack"]
        p.facts["asked"] = 121 in inf.facts["renewal"].options.get(55, b"")
        if not p.facts["asked"]:
            return
        ep = t.session.endpoint
        router = other_router(t)
        ep.transport.answer_arp(router, mac_bytes(OTHER_ROUTER_MAC))
        t.in_use.append(router)   # forgotten when the checks end
        ident = new_xid() & 0xFFFF
        ping = icmp_echo_frame(src_mac=ep.mac_bytes, dst_mac=ack.chaddr, src=OFF_LINK, dst=ack.yiaddr, ident=ident)

        def sent(raw: bytes) -> None:
            with t.cond:
                t.sent.append((time.time(), raw))

        got = ep.transport.probe(ping, lambda f: is_icmp_echo_reply(f.raw, ident), wait=1.0, tries=3, on_send=sent)
        p.facts["reply_to"] = got.raw[0:6] if got is not None else None
        p.facts["router"], p.facts["ours"] = router, ep.mac_bytes
    return t.phase("routes", run)


def reboot_phase(t: ClientProbe) -> Phase:
    """``restart=`` starts the device over; its messages until its next DISCOVER
    or ACK (REQUESTs in INIT-REBOOT when it remembers its lease)."""
    if t.restart is None:
        raise NoEvidence("a restart shows it: give restart= (a callable that restarts the device)")
    before = [f for f in t.timeline if f.is_dhcp]
    if not before:
        bind_phase(t)
        before = [f for f in t.timeline if f.is_dhcp]

    def run(p: Phase) -> None:
        def policy(req: Frame, raw: bytes) -> Any:   # a server as any: it may ACK the address it asks for back
            if parse_frame(raw).message_type != ACK:
                return raw
            return with_lease(raw, LONG, LONG // 2, LONG * 7 // 8, extra=_nonce(p.facts, req))   # no T1 mid-way

        t.set_policy(policy)
        with t.cond:   # what it held: our last ACK before the restart
            acks = [parse_frame(raw) for _ts, raw in t.sent]
        p.facts["held"] = next((a.yiaddr for a in reversed(acks) if a.message_type == ACK), None)
        p.facts["before"] = before[-1]
        mark = time.time()
        t.restart()   # type: ignore[misc]
        first = t.wait_for(lambda f: f.is_dhcp and f.message_type in (DISCOVER, REQUEST), time.time() + t.wait, mark)
        if first is None:
            raise NoEvidence(f"the client sent nothing within {t.wait:g} s of its restart")
        p.start = min(p.start, mark)
        p.facts["first"] = first
        stop = _answered(t, first, time.time() + t.wait) if first.message_type == REQUEST else first.time
        # INIT-REBOOT: its REQUESTs until our answer (ACK or NAK) or its DISCOVER
        p.facts["init_reboot"] = [f for f in t.timeline if first.time <= f.time <= stop and f.message_type == REQUEST]
    return t.phase("reboot", run)


def _answered(t: ClientProbe, first: Frame, until: float) -> float:
    """When the REQUEST ``first`` (or a retransmission) got an ACK or NAK, or the client DISCOVERed."""
    with t.cond:
        while True:
            ends = [ts for ts, raw in t.sent if ts >= first.time and parse_frame(raw).message_type in (ACK, NAK)]
            ends += [f.time for f in t.timeline if f.time > first.time and f.message_type == DISCOVER]
            if ends or time.time() >= until:
                return min(ends) if ends else time.time()
            t.cond.wait(0.2)


def settled(t: ClientProbe) -> tuple[float, str | None]:
    """When our last ACK went and its address, once the client holds it: that ACK answers its
    last DISCOVER or REQUEST, its ARP probing is over (RFC 5227: it does not use the
    address before; its first probe comes within PROBE_WAIT) and it answers ARP for the
    address (at the latest PROBE_PHASE after the ACK). (0.0, None) when it holds none."""
    until = time.time() + t.wait
    while True:
        with t.cond:
            last_req = max((f.time for f in t.timeline if f.message_type in (DISCOVER, REQUEST)), default=0.0)
            acks = [(ts, raw) for ts, raw in t.sent if parse_frame(raw).message_type == ACK]
        if acks and acks[-1][0] >= last_req or time.time() > until:
            break
        time.sleep(0.1)
    if not acks:
        return 0.0, None
    acked_at, held = acks[-1][0], parse_frame(acks[-1][1]).yiaddr
    # RFC 5227: its first probe comes within PROBE_WAIT; it uses the address once its probing is over.
    while time.time() < acked_at + PROBE_WAIT + 0.5 or not t.life.done_probing(held, acked_at - 0.5):
        time.sleep(0.1)
    while not t.arp_answered(held) and time.time() < acked_at + PROBE_PHASE:
        pass   # and it answers for the address (each ask takes a second unanswered): it configured it
    return acked_at, held


def release_phase(t: ClientProbe) -> Phase:
    """``release=`` asks the device to give its lease back; the RELEASE it sends, and
    the address it held, once it holds an address of ours (:func:`settled`, which asks it
    by ARP, as a server does: a client that just DORAed may not know our MAC yet, and
    dhcpcd drops its address while its RELEASE still waits for ARP)."""
    if t.release is None:
        raise NoEvidence("a release shows it: give release= (a callable that makes the device give its lease "
                         "back: lab.clients[0].release)")
    if not t.phases:
        bind_phase(t)

    def run(p: Phase) -> None:
        t.set_policy(lambda req, raw: raw)
        acked_at, held = settled(t)
        if held is None:
            raise NoEvidence("it holds no lease of ours to release")
        mark = time.time()   # settled() asked it by ARP: it knows our MAC
        t.release()   # type: ignore[misc]
        p.facts.update(held=held, release=t.wait_for(lambda f: f.message_type == RELEASE, mark + min(t.wait, 10.0),
                                                     mark))
    return t.phase("release", run)


__all__ = ["INFINITE", "forcerenew_phase", "infinite_phase", "nonce_phase", "reboot_phase", "release_phase",
           "routes_phase", "with_lease"]
