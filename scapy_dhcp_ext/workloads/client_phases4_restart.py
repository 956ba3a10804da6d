"""The client checks' last phases (part four), after every earlier one (the release included);
the first two start the device over with ``restart=``:

1. *retries* (slow, only with ``slow=True``): its DISCOVER gets an OFFER and its REQUEST for it
   nothing, ever: RFC 2131 4.4.1 wants the REQUEST retransmitted and then, once the
   retransmissions run out, the client back in INIT (a DISCOVER). Watched for RETRIES_WINDOW
   after its first REQUEST: the 4, 8, 16, 32, 64 s of 4.1's back-off, and slack;
2. *v6only* (RFC 8925, to a client that asks for option 108): an OFFER whose option 108 is
   2 bytes long (it must ignore the option and REQUEST), then, after another restart, an
   OFFER with V6ONLY_WAIT 300 s (it must not REQUEST it, and should stay off DHCPv4 for that
   long: watched for V6ONLY_WATCHED of them). A last restart ends the wait, so that the device
   is not left off IPv4 for five minutes;
3. *inform* (only with ``inform=``, a callable that has the device send a DHCPINFORM: a board
   given a static address; the lab's dhcpcd, its address set by hand, ``--inform``): its
   DHCPINFORM, answered with our ACK, and whether it answers ARP for the ciaddr it gave.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from ..wire import DISCOVER, INFORM, OFFER, REQUEST, ZERO_IP
from ..wire.frames4 import Frame, parse_frame
from .checks import NoEvidence
from .client_phases4 import release_phase
from .client_probe4 import ClientProbe, Phase, bind_phase
from .reply_edit4 import set_option

V6ONLY = 108
V6ONLY_WAIT = 300          # RFC 8925 3.2: MIN_V6ONLY_WAIT, what the OFFER says
V6ONLY_WATCHED = 10.0      # seconds of it watched: a client that ignores the option REQUESTs at once
SHORT_108 = b"\x01\x2c"    # 300 as 2 bytes: the option's length must be 4 (RFC 8925 3.1)
RETRIES_WINDOW = 132.0     # 4 + 8 + 16 + 32 + 64 s of RFC 2131 4.1's back-off, each +/- 1 s, then its DISCOVER


def _restart(t: ClientProbe, why: str) -> float:
    if t.restart is None:
        raise NoEvidence(f"{why}: give restart= (a callable that restarts the device)")
    mark = time.time()
    t.restart()
    return mark


def _is(kinds: tuple[int, ...], f: Frame) -> bool:
    return f.message_type in kinds


def _after(t: ClientProbe, phase: Any) -> None:
    """Runs ``phase`` first, when it can run (release= given, say): these phases come after it,
    and need nothing of it."""
    try:
        phase(t)
    except NoEvidence:
        pass   # its own checks say why


def retries_phase(t: ClientProbe) -> Phase:
    """Its REQUEST in SELECTING goes unanswered until it DISCOVERs again or RETRIES_WINDOW ends."""
    _after(t, release_phase)

    def run(p: Phase) -> None:
        facts = p.facts

        def policy(req: Frame, raw: bytes) -> Any:
            if "first" in facts:
                return None   # from its first REQUEST in SELECTING on, nothing is answered
            if req.message_type == DISCOVER:
                facts["offered"] = True
                return raw
            if req.message_type != REQUEST:
                return None
            if "offered" in facts and req.server_id is not None and req.ciaddr == ZERO_IP:
                facts["first"] = req   # SELECTING: it names the server of our OFFER
                return None
            return t.server.nak_frame(req, "check_client: start over")   # INIT-REBOOT: on to DISCOVER

        t.set_policy(policy)
        mark = _restart(t, "a new start shows it")
        with t.cond:
            until = time.time() + t.wait
            while "first" not in facts and time.time() < until:
                t.cond.wait(0.2)
        first = facts.get("first")
        if first is None or first.time < mark:
            raise NoEvidence(f"it sent no REQUEST for our OFFER within {t.wait:g} s of its restart")
        back = t.wait_for(lambda f: f.message_type == DISCOVER, first.time + RETRIES_WINDOW, first.time)
        end = back.time if back is not None else first.time + RETRIES_WINDOW
        facts["requests"] = [f for f in t.timeline if first.time <= f.time <= end and f.message_type == REQUEST
                             and f.xid == first.xid]
        facts["back"] = back
        t.set_policy(lambda req, raw: raw)
    return t.phase("retries", run)


def v6only_phase(t: ClientProbe) -> Phase:
    """To a client that asks for option 108: an OFFER with it 2 bytes long, then one with V6ONLY_WAIT."""
    _after(t, release_phase)
    if t.slow:
        _after(t, retries_phase)

    def run(p: Phase) -> None:
        facts = p.facts

        def offer(key: str, payload: bytes) -> Any:
            def policy(req: Frame, raw: bytes) -> Any:
                if req.message_type == DISCOVER and parse_frame(raw).message_type == OFFER:
                    if V6ONLY not in req.options.get(55, b""):
                        return raw   # it does not ask for it: n/a, and served as any server would
                    if key in facts:
                        return None   # it came back: one OFFER is the stimulus
                    facts[key] = (time.time(), parse_frame(raw).yiaddr)
                    return set_option(raw, V6ONLY, payload)
                if req.message_type == REQUEST and key == "short":
                    return raw   # it took the OFFER, as it should: an ACK, as a server's
                return t.server.nak_frame(req, "check_client: not ours") if req.message_type == REQUEST else None
            return policy

        try:
            for key, payload in (("short", SHORT_108), ("wait", V6ONLY_WAIT.to_bytes(4, "big"))):
                t.set_policy(offer(key, payload))
                mark = _restart(t, "a new start shows it")
                discover = t.wait_for(partial(_is, (DISCOVER,)), time.time() + t.wait, mark)
                if discover is None:
                    raise NoEvidence(f"it sent no DISCOVER within {t.wait:g} s of its restart")
                facts["asked"] = V6ONLY in discover.options.get(55, b"")
                if not facts["asked"]:
                    return
                with t.cond:
                    until = time.time() + t.wait
                    while key not in facts and time.time() < until:
                        t.cond.wait(0.2)
                if key not in facts:
                    raise NoEvidence("our OFFER with option 108 was not sent")
                offered_at = facts[key][0]
                window = offered_at + (min(t.wait, 10.0) if key == "short" else V6ONLY_WATCHED)
                kinds = (REQUEST,) if key == "short" else (DISCOVER, REQUEST)   # the long one: any sign it went on
                facts[key + "_next"] = t.wait_for(partial(_is, kinds), window, offered_at)
                facts[key + "_request"] = t.wait_for(partial(_is, (REQUEST,)), window, offered_at)
                facts[key + "_window"] = window - offered_at
        finally:
            t.set_policy(lambda req, raw: raw)
            if "wait" in facts:   # out of its V6ONLY_WAIT (Ctrl-C too): not left off IPv4 for five minutes
                t.restart()   # type: ignore[misc]
    return t.phase("v6only", run)



def inform_phase(t: ClientProbe) -> Phase:
    """``inform=`` has the device send a DHCPINFORM: that message, and whether the device
    answers ARP for its ciaddr (the address it says it has, RFC 2131 table 5). It comes after
    the bind phase, as in a whole run (a lever such as the lab's configures the address it was
    given), also when only these checks are asked for."""
    _after(t, bind_phase)
    _after(t, v6only_phase)

    def run(p: Phase) -> None:
        t.set_policy(lambda req, raw: raw)   # as a server: an ACK with no lease time
        mark = time.time()
        t.inform()   # type: ignore[misc]
        got = t.wait_for(lambda f: f.message_type == INFORM, mark + t.wait, mark)
        if got is None:
            raise NoEvidence(f"asked to send a DHCPINFORM, it sent none within {t.wait:g} s")
        p.facts["inform"] = got
        p.facts["answers_arp"] = got.ciaddr != ZERO_IP and t.arp_answered(got.ciaddr)
    return t.phase("inform", run)
