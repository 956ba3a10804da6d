"""``check_client6()``'s later phases (see :mod:`.client_probe6` for the order): a lease let run
out (``expire``), a link that went down and up (``link``), an address whose duplicate
address detection we answer (``decline``), and restarts that time its first SOLICIT (``firstdelay``).

Each waits on what the client does, or on the lifetimes we gave it; the neighbour solicitations
that ask whether it still uses an address come from the server's link-local address, as any
neighbour's would.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from ..wire.dhcp6 import (
    ADVERTISE,
    CONFIRM,
    DECLINE,
    INFORMATION_REQUEST,
    REBIND,
    RENEW,
    REPLY,
    REQUEST,
    SOLICIT,
    option6,
    status_option,
)
from ..wire.frames6 import Frame6, parse_frame6
from .checks import NoEvidence
from .client_facts6 import elapsed
from .client_probe6 import NO_ADDRS_AVAIL, RUNS, ClientProbe6, Phase6

SOL_MAX_RT = 82
LONG = (600, 900, 1200, 1800)   # t1, t2, preferred, valid: once the lease ran out, a quiet client
AFTER_END = 1.5                 # seconds past the valid lifetime before asking whether it still answers
DAD_WAIT = 3.0   # after a REPLY, a kernel's DAD probe comes within 1 s (RFC 4862 5.4.2's delay) and a margin


def answers_for(t: ClientProbe6, address: str) -> tuple[float, bool]:
    """A neighbour solicitation for ``address`` (twice, a second apart, at most): when, and whether it was answered."""
    ep, at = t.server.endpoint, time.time()
    return at, ep.transport6.neighbour_answers(address, mac=ep.mac_bytes, src=t.server.address, tries=2)


def _last_lease(t: ClientProbe6, since: float) -> tuple[float, Frame6] | None:
    with t.cond:
        given = [(when, f) for when, f in t.sent if when >= since and f.msg_type == REPLY and f.addresses]
    return given[-1] if given else None


def _sleep_until(when: float) -> None:
    while (left := when - time.time()) > 0:
        time.sleep(min(left, 0.2))


def expire(t: ClientProbe6, p: Phase6) -> None:
    """The lease the rebind phase gave (valid a few seconds) runs out unanswered: does the client
    still answer for its address while it is valid, and after? Then it is served again."""
    since = t.phases["rebind"].start
    found = _last_lease(t, since)
    if found is None:   # it let the lease run out already (no REBIND in time): serve its SOLICIT
        t.policy = lambda f, raw: raw
        if t.sent_after(REPLY, since, time.time() + t.wait + 30) is not None:
            found = _last_lease(t, since)
        t.policy = lambda f, raw: None
    if found is None:
        raise NoEvidence("no REPLY with an address went to it after its REBIND window")
    sent_at, reply = found
    address = reply.addresses[0]
    ends = sent_at + address.valid
    mark = len(t.timeline)
    _sleep_until(sent_at + address.valid / 2)
    while_valid = answers_for(t, address.address) if time.time() < ends - 2.0 else None
    _sleep_until(ends + AFTER_END)
    after = answers_for(t, address.address)
    # served again, with long timers: quiet through the phases after this one
    cfg = t.server.config
    cfg.t1, cfg.t2, cfg.preferred, cfg.valid = LONG
    t.policy = lambda f, raw: raw
    start_over = t.next_message((SOLICIT,), mark, time.time() + t.wait)
    bound = t.sent_after(REPLY, start_over[1].time - 0.5, time.time() + t.wait + 30) if start_over else None
    p.facts.update(address=address.address, valid=address.valid, sent_at=sent_at, ends=ends,
                   while_valid=while_valid, after=after, solicit=start_over[1] if start_over else None,
                   bound_again=bound[0] if bound else None, reply=reply)


def bound_again(t: ClientProbe6, *after: str) -> tuple[float, Frame6] | None:
    """The REPLY that gave it addresses since the last of the phases ``after`` that ran (a release,
    a restart, a link change), waited for: a client is signalled only once it is settled."""
    since = max((t.phases[name].start for name in after if name in t.phases), default=0.0)
    t.policy = lambda f, raw: raw
    deadline = time.time() + t.wait + 30
    with t.cond:
        while (got := _last_lease(t, since)) is None and time.time() < deadline:
            t.cond.wait(0.2)
    return got


def link(t: ClientProbe6, p: Phase6) -> None:
    """Its link goes down and up (``link_change``), once it is bound: its first message after."""
    if t.link_change is None:
        raise NoEvidence("needs link_change= (a callable that takes the device's link down and up: "
                         "lab.clients[0].link_change)")
    held = bound_again(t, "release", "restart", "firstdelay")
    if held is None:
        raise NoEvidence("it held no binding (no REPLY with an address went to it since its restart)")
    kinds = (CONFIRM, REBIND, SOLICIT, RENEW, REQUEST, INFORMATION_REQUEST)
    mark = len(t.timeline)
    t.link_change()
    at, back = time.time(), len(t.timeline)
    # Its answer is what it sends once the link is back: a RENEW it sent on its own schedule before
    # the link went down answers nothing. Only if nothing comes after does an earlier one count (an
    # answer quicker than link_change() took to return).
    got = t.next_message(kinds, back, at + t.wait) or t.next_message(kinds, mark, 0.0)
    before = [f for f in t.timeline[mark:back] if f.msg_type in kinds and (got is None or f is not got[1])]
    p.facts.update(first=got[1] if got else None, at=at, held=held[1] if held else None,
                   before=before[0] if before and got is not None and got[0] >= back else None)


def decline(t: ClientProbe6, p: Phase6) -> None:
    """A restart whose addresses we defend: the address it held (a client that kept its lease
    configures it again at once) and any our REPLYs give it. Its duplicate address detection
    meets a neighbour advertisement (ours), and a DECLINE is due (18.2.10.1, 18.2.8)."""
    if t.restart is None:
        raise NoEvidence("needs restart= (a device that starts over and takes an address again)")
    ep = t.server.endpoint
    held = bound_again(t, "release", "restart", "firstdelay", "link")
    defended: list[str] = []

    def defend(addresses: list[str]) -> None:
        for a in addresses:
            if a not in defended:
                ep.transport6.answer_nd(a, ep.mac_bytes)
                defended.append(a)

    def policy(f: Frame6, raw: bytes) -> Any:
        if raw:   # before the REPLY goes: its DAD will find the address in use
            reply = parse_frame6(raw)
            if reply.msg_type == REPLY:
                defend([a.address for a in reply.addresses])
        return raw

    defend([a.address for a in held[1].addresses] if held else [])
    mark, dad_mark = len(t.timeline), len(t.dad)
    t.policy = policy
    try:
        at = time.time()
        t.restart()
        deadline = time.time() + t.wait + 30
        with t.cond:   # its DAD for one of them: at once for an address it kept, else after our REPLY
            while not (dad := [(when, a) for when, a in t.dad[dad_mark:] if a in defended]):
                given = _last_lease(t, at)
                if time.time() > deadline or (given is not None and time.time() > given[0] + DAD_WAIT):
                    break   # none: DAD is off in its kernel
                t.cond.wait(0.2)
        got = t.next_message((DECLINE,), mark, dad[0][0] + t.wait / 3) if dad else None
    finally:
        for a in defended:
            ep.transport6.forget_nd(a)
        t.policy = lambda f, raw: raw
    p.facts.update(defended=defended, given=at, dad=dad, decline=got[1] if got else None)


SOL_MAX_RT_GIVEN = 60   # RFC 8415 21.24's least; the default is 3600
LONG_GAP = 40.0         # a gap this long is past the doubling (1, 2, 4, ... 32 s) and at the cap
CAP = SOL_MAX_RT_GIVEN * 1.1 + 1.0   # RFC 8415 15: MRT plus at most 10%; a late read's second
QUIET = CAP + 10.0   # a silence this long after a SOLICIT is past the cap, even read late on a busy machine


def solmaxrt(t: ClientProbe6, p: Phase6) -> None:
    """A restart; its first SOLICIT gets an ADVERTISE with NoAddrsAvail and SOL_MAX_RT 60 (which it
    MUST process, 18.2.9); nothing else is answered, and its SOLICITs are kept until two gaps are
    at the cap (a client that ignores it doubles to 64, then 128 s) or the time for them is past."""
    if t.restart is None:
        raise NoEvidence("needs restart= (a device that starts SOLICITing over)")
    given: list[tuple[float, Frame6]] = []

    def policy(f: Frame6, raw: bytes) -> Any:
        if f.msg_type == SOLICIT and not given:
            given.append((time.time(), f))
            return t._reply(f, ADVERTISE, [status_option(NO_ADDRS_AVAIL, "none, and SOL_MAX_RT 60"),
                                           option6(SOL_MAX_RT, struct.pack("!I", SOL_MAX_RT_GIVEN))])
        return t._start_over(f, raw)   # an old lease taken back: it must SOLICIT

    mark = len(t.timeline)
    t.policy = policy
    try:
        at = time.time()
        t.restart()
        # 1 + 2 + ... + 32 s, then two capped gaps of at most 66 s, and a margin
        deadline = at + 63 * 1.1 + 2 * SOL_MAX_RT_GIVEN * 1.1 + t.wait
        with t.cond:   # until two gaps at the cap, or one past it, or a silence past it
            while time.time() < deadline:
                got = [f for f in t.timeline[mark:] if f.msg_type == SOLICIT]
                gaps = [b.time - a.time for a, b in zip(got, got[1:])]
                if len([g for g in gaps if g >= LONG_GAP]) >= 2 or any(g > CAP for g in gaps) or \
                        (given and got and time.time() - got[-1].time > QUIET):
                    break
                t.cond.wait(0.5)
            got = [f for f in t.timeline[mark:] if f.msg_type == SOLICIT]
            quiet = time.time() - got[-1].time if got else 0.0
    finally:
        t.policy = lambda f, raw: raw
    if not given:
        raise NoEvidence(f"no SOLICIT after its restart within {t.wait:.0f} s")
    p.facts.update(at=at, advertised=given[0], solicits=[f for f in got if f.time >= given[0][1].time], quiet=quiet)


ANY = (SOLICIT, REQUEST, CONFIRM, REBIND, RENEW, INFORMATION_REQUEST, DECLINE)
STARTS = 8   # restarts for the first SOLICIT's delay: 8 figures drawn from 0 to 1 s lie within 0.25 s of
#              each other less than once in 2,000 (8 x 0.25^7); a fixed delay's always do


def first_delay(t: ClientProbe6, p: Phase6) -> None:
    """The client started ``STARTS`` times, nothing answered: how long after each start its first
    SOLICIT came (18.2.1's random delay of 0 to SOL_MAX_DELAY, plus its start-up). A start whose
    first message is something else (a CONFIRM of a lease it kept) or a SOLICIT that says time
    has elapsed (its first lost) gives no figure."""
    if t.restart is None:
        raise NoEvidence("needs restart= (a device that starts over): the delay is timed from its start")
    t.policy = t._start_over
    firsts: list[tuple[float, Frame6]] = []
    try:
        for _ in range(STARTS):
            mark = len(t.timeline)
            t.restart()
            at = time.time()   # the new process exists from here on; what the old one sent is older
            while (got := t.next_message(ANY, mark, at + t.wait)) is not None and got[1].time < at:
                mark = got[0] + 1
            if got is None:
                break
            f = got[1]
            if f.msg_type == SOLICIT and elapsed(f) == 0:
                firsts.append((f.time - at, f))
    finally:
        t.policy = lambda f, raw: raw
    if not firsts:
        raise NoEvidence(f"no first SOLICIT within {t.wait:.0f} s of {STARTS} restarts")
    p.facts.update(firsts=firsts, starts=STARTS)


RUNS.update(expire=expire, link=link, decline=decline, solmaxrt=solmaxrt, firstdelay=first_delay)
