"""``check_client6()``, part two: the client's life past its binding (RFC 8415 18.2.4, 18.2.5,
16.11, 18.2.11, 18.2.7, 11, 12.1, 18.2.1, 18.2.12, 18.2.10.1, 18.2.8): its RENEW at T1, its REBIND at
T2, a lease that runs out, RECONFIGUREs, its RELEASE, what it keeps across a restart, how long its
first SOLICIT waits after a start, its link going down and up, and its DECLINE when DAD fails. The phases are
:mod:`.client_probe6`'s and :mod:`.client_phases6`'s."""

from __future__ import annotations

from typing import Any

from ..wire.dhcp6 import CONFIRM, REBIND
from ..wire.frames6 import Frame6
from . import client_phases6  # noqa: F401  (its phases: expire, link, decline)
from .checks import MUST, SHOULD, Check, NoEvidence, catalog, unsure
from .checks import broken as fail
from .checks import met as ok
from .checks import not_applicable as na
from .client_facts6 import SLACK, bind, multicast
from .client_probe6 import ClientProbe6

CHECKS: list[Check] = []
check = catalog(CHECKS)


# -- RENEW and REBIND (18.2.4, 18.2.5) -----------------------------------------------------

def on_time(at: float, want: int, name: str, since: str) -> Any:
    """A message ``at`` seconds after ``since`` that should come at ``want`` (T1 or T2): not earlier, nor much later."""
    if at < want - SLACK:
        return fail(f"{at:.1f} s after {since}: before {name} ({want} s)")
    if at > want + max(2.0, 0.2 * want):
        return fail(f"{at:.1f} s after {since}: {name} was {want} s")
    return ok(f"{at:.1f} s after {since} ({name} {want} s)")


def _renew(t: ClientProbe6) -> Frame6:
    facts = t.phase("renew").facts
    if facts["renew"] is None:
        instead = facts.get("instead")
        raise NoEvidence(f"it sent {instead.type_name} instead" if instead is not None else "no RENEW came")
    t.cite(facts["renew"])
    return facts["renew"]


@check("renew-at-t1", "8415 18.2.4", MUST, "the client RENEWs at T1 of its REPLY, not earlier nor much later")
def renew_at_t1(t: ClientProbe6) -> Any:
    facts = t.phase("renew").facts
    t1 = t.server_times[0]
    if facts["renew"] is None:
        return fail(f"no RENEW within T2 ({t.server_times[1]} s) and {t.wait:.0f} s more")
    _renew(t)
    return on_time(facts["at"], t1, "T1", "the REPLY")


@check("renew-server-id", "8415 18.2.4", MUST, "a RENEW names the server that gave the lease")
def renew_server_id(t: ClientProbe6) -> Any:
    f = _renew(t)
    return ok("it names ours") if f.server_id == t.server.duid else \
        fail(f"it names {f.server_id.hex() if f.server_id else 'no server'}")


@check("renew-to-all-servers", "8415 18.2.4", MUST,
       "a RENEW goes to ff02::1:2 when the server gave no Server Unicast option")
def renew_to_all_servers(t: ClientProbe6) -> Any:
    why = multicast(_renew(t))
    return fail(why) if why else ok("to ff02::1:2 from its link-local address")


@check("renew-holds-its-leases", "8415 18.2.4", MUST, "a RENEW's IAs hold the addresses and prefixes it was given")
def renew_holds_its_leases(t: ClientProbe6) -> Any:
    _renew(t)
    renews: list[Frame6] = t.phases["renew"].facts["renews"]   # one per IA is allowed (dhcp6c)
    t.cite(*renews)
    reply = bind(t)["reply"]
    given = {a.prefix for i in reply.ia_na + reply.ia_pd for a in i.addresses}
    named = {a.prefix for f in renews for i in f.ia_na + f.ia_pd for a in i.addresses}
    missing = given - named
    return ok(f"it names {', '.join(sorted(named))}") if not missing else fail(f"it leaves out {', '.join(missing)}")


@check("renew-new-xid", "8415 16.1", MUST, "a RENEW starts a new exchange: a new transaction id")
def renew_new_xid(t: ClientProbe6) -> Any:
    f = _renew(t)
    return fail("the REQUEST's transaction id") if f.txid == bind(t)["request"].txid else ok(f"{f.txid:#08x}")


def _rebind(t: ClientProbe6) -> Frame6:
    facts = t.phase("rebind").facts
    if facts["rebind"] is None:
        raise NoEvidence(f"no REBIND within T2 ({facts['t2']} s) of its last REPLY and {t.wait:.0f} s more")
    t.cite(facts["rebind"])
    return facts["rebind"]


@check("rebind-at-t2", "8415 18.2.5", MUST, "with its RENEWs unanswered the client REBINDs at T2, not earlier")
def rebind_at_t2(t: ClientProbe6) -> Any:
    facts = t.phase("rebind").facts
    if facts["rebind"] is None:
        return fail(f"no REBIND within T2 ({facts['t2']} s) of its last REPLY and {t.wait:.0f} s more; "
                    f"it sent {facts['instead']}")
    _rebind(t)
    return on_time(facts["at"], facts["t2"], "T2", "its last REPLY")


@check("rebind-no-server-id", "8415 18.2.5", MUST, "a REBIND names no server (any server may answer)")
def rebind_no_server_id(t: ClientProbe6) -> Any:
    f = _rebind(t)
    return fail(f"it names {f.server_id.hex()}") if f.server_id is not None else ok("none named")


@check("rebind-to-all-servers", "8415 18.2.5", MUST, "a REBIND goes to ff02::1:2")
def rebind_to_all_servers(t: ClientProbe6) -> Any:
    why = multicast(_rebind(t))
    return fail(why) if why else ok("to ff02::1:2 from its link-local address")


# -- a lease that runs out (18.2.5, RFC 4862 5.5.4) -------------------------------------------

@check("expired-address-not-used", "8415 18.2.5; 4862 5.5.4", MUST,
       "with its RENEWs and REBINDs unanswered the client stops using its address when the valid lifetime ends")
def expired_address_not_used(t: ClientProbe6) -> Any:
    facts = t.phase("expire").facts
    t.cite(facts["solicit"])
    address, valid = facts["address"], facts["valid"]
    after_at, answered = facts["after"]
    then = f"a SOLICIT {facts['solicit'].time - facts['sent_at']:.1f} s after the REPLY" if facts["solicit"] \
        else "no SOLICIT after it"
    if answered:
        return fail(f"it still answers neighbour solicitations for {address} "
                    f"{after_at - facts['sent_at']:.1f} s after the REPLY (valid {valid} s); {then}")
    if facts["while_valid"] is None or not facts["while_valid"][1]:
        return unsure(f"it never answered a neighbour solicitation for {address}, not even while valid: "
                      "the probe cannot tell whether it stopped using it")
    return ok(f"{address} answered at +{facts['while_valid'][0] - facts['sent_at']:.1f} s, not at "
              f"+{after_at - facts['sent_at']:.1f} s (valid {valid} s); {then}")


# -- RECONFIGURE (16.11, 18.2.11) ---------------------------------------------------------

@check("reconfigure-unauthenticated-ignored", "8415 16.11", MUST,
       "a RECONFIGURE without authentication is discarded: no RENEW for it")
def reconfigure_unauthenticated_ignored(t: ClientProbe6) -> Any:
    got = t.phase("reconfigure").facts["unauth"]
    if got is not None:
        t.cite(got[1])
        return fail(f"it sent {got[1].type_name} {got[1].time - t.phases['reconfigure'].start:.1f} s later")
    return ok("nothing within 4 s")


@check("reconfigure-answered", "8415 18.2.11", MUST,
       "a client that accepts Reconfigure answers a signed RECONFIGURE (renew) with a RENEW")
def reconfigure_answered(t: ClientProbe6) -> Any:
    facts = t.phase("reconfigure").facts
    if not facts["keyed"]:
        return na("it never sent Reconfigure Accept, so it holds no key")
    got = facts["auth"]
    if got is None:
        return fail("no RENEW within 4 s of a RECONFIGURE signed with its key")
    t.cite(got[1])
    return ok(f"a RENEW {got[1].time - t.phases['reconfigure'].start:.1f} s later")


# -- a RELEASE and a restart (18.2.7, 11, 12.1) ----------------------------------------------

@check("release-formed", "8415 18.2.7", MUST,
       "a RELEASE names the server and the client, holds the IAs it gives back, and goes to ff02::1:2")
def release_formed(t: ClientProbe6) -> Any:
    f: Frame6 = t.phase("release").facts["release"]
    t.cite(f)
    if f.server_id != t.server.duid:
        return fail(f"it names {f.server_id.hex() if f.server_id else 'no server'}")
    if not f.client_id:
        return fail("no Client Identifier")
    if not any(i.addresses for i in f.ia_na + f.ia_pd):
        return fail("no IA with an address or prefix in it")
    why = multicast(f)
    return fail(why) if why else ok("server, client and IAs named, to ff02::1:2")


@check("duid-stable-across-restart", "8415 11", SHOULD, "the client keeps its DUID across a restart")
def duid_stable_across_restart(t: ClientProbe6) -> Any:
    facts = t.phase("restart").facts
    t.cite(facts["before"], facts["after"])
    b, a = facts["before"].client_id or b"", facts["after"].client_id or b""
    return ok(f"{b.hex()} before and after") if a == b else fail(f"{b.hex()} before, {a.hex()} after")


@check("iaid-stable-across-restart", "8415 12.1", MUST, "the client keeps its IAIDs across a restart")
def iaid_stable_across_restart(t: ClientProbe6) -> Any:
    facts = t.phase("restart").facts
    t.cite(facts["before"], facts["after"])
    b = sorted((i.kind, i.iaid) for i in facts["before"].ia_na + facts["before"].ia_pd)
    a = sorted((i.kind, i.iaid) for i in facts["after"].ia_na + facts["after"].ia_pd)
    if not a:
        return unsure(f"its first message after the restart ({facts['after'].type_name}) holds no IA")
    return ok(f"{b} before and after") if a == b else fail(f"{b} before, {a} after")


# -- the first SOLICIT's delay (18.2.1) ---------------------------------------------------------

SOL_MAX_DELAY = 1.0
SPREAD = 0.25   # figures closer than this, every time: the delay is not drawn from 0 to SOL_MAX_DELAY
ENOUGH = 6      # first SOLICITs needed (of client_phases6.STARTS restarts)


@check("solicit-first-delay", "8415 18.2.1", SHOULD,
       "the first SOLICIT waits a random time between 0 and SOL_MAX_DELAY (1 s), so that clients "
       "that start together do not solicit together")
def solicit_first_delay(t: ClientProbe6) -> Any:
    facts = t.phase("firstdelay").facts
    firsts = facts["firsts"]
    t.cite(*(f for _d, f in firsts))
    delays = [d for d, _f in firsts]
    shown = ", ".join(f"{d:.2f}" for d in delays)
    if len(delays) < ENOUGH:
        return unsure(f"only {len(delays)} of {facts['starts']} restarts began with a SOLICIT ({shown} s)")
    spread = max(delays) - min(delays)
    said = f"its first SOLICIT {shown} s after each of {len(delays)} restarts"
    if spread >= SPREAD:
        return ok(f"{said}: spread over {spread:.2f} s, a random delay (its start-up time is part of each)")
    if min(delays) >= 0.9 * SOL_MAX_DELAY:
        return fail(f"{said}: about {sorted(delays)[len(delays) // 2]:.1f} s every time, a fixed delay "
                    f"(within {spread:.2f} s), not one drawn from 0 to {SOL_MAX_DELAY:.0f} s")
    return fail(f"{said}: within {spread:.2f} s of each other every time, no random delay")


# -- a link that went down and up (18.2.12, 18.2.3) ---------------------------------------------

@check("confirm-after-link-change", "8415 18.2.12", MUST,
       "after its link went down and up the client CONFIRMs its addresses, or REBINDs when it holds "
       "delegated prefixes, rather than using them unchecked")
def confirm_after_link_change(t: ClientProbe6) -> Any:
    facts = t.phase("link").facts
    f: Frame6 | None = facts["first"]
    held: Frame6 | None = facts["held"]
    prefixes = bool(held is not None and held.prefixes)
    want = "REBIND (it holds delegated prefixes)" if prefixes else "CONFIRM"
    if f is None:
        return fail(f"nothing from it within {t.wait:.0f} s of its link coming back: {want} was due")
    t.cite(f)
    late = f"{f.time - facts['at']:.1f} s after its link came back"
    if facts.get("before") is not None:
        late += f" (its {facts['before'].type_name} from before the link went down is not the answer)"
    if f.msg_type == REBIND or (f.msg_type == CONFIRM and not prefixes):
        return ok(f"{f.type_name} {late}")
    if f.msg_type == CONFIRM:
        return fail(f"CONFIRM {late}, but it holds delegated prefixes: RFC 8415 18.2.12 asks for a REBIND")
    return fail(f"{f.type_name} {late}, not a {want}")


# -- DECLINE when its duplicate address detection fails (18.2.10.1, 18.2.8) ------------------------

def _declined(t: ClientProbe6) -> tuple[dict[str, Any], Frame6 | None, str]:
    """The decline phase's facts, its DECLINE, and why the checks do not apply (no DAD), or ""."""
    facts = t.phase("decline").facts
    why = "" if facts["dad"] else (f"it did no duplicate address detection for {', '.join(facts['defended'])} "
                                   "(DAD off in its kernel, as in the lab's fast modes: try :shipped)")
    return facts, facts["decline"], why


@check("decline-on-dad-failure", "8415 18.2.10.1", SHOULD,
       "when its duplicate address detection finds the address in use, the client DECLINEs it")
def decline_on_dad_failure(t: ClientProbe6) -> Any:
    facts, f, why = _declined(t)
    if why:
        return na(why)
    when, address = facts["dad"][0]
    if f is None:
        return fail(f"its DAD for {address} ({when - facts['given']:.1f} s after its restart) met our "
                    f"neighbour advertisement, and no DECLINE came within {t.wait / 3:.0f} s")
    t.cite(f)
    return ok(f"its DAD for {address} {when - facts['given']:.1f} s after its restart met our advertisement; "
              f"DECLINE {f.time - when:.1f} s later")


@check("decline-formed", "8415 18.2.8", MUST,
       "a DECLINE names the server and the client, holds the IA with the address in use, and goes to ff02::1:2")
def decline_formed(t: ClientProbe6) -> Any:
    facts, f, why = _declined(t)
    if why or f is None:
        return na(why or "no DECLINE came")
    t.cite(f)
    named = {a.address for i in f.ia_na for a in i.addresses}
    if f.server_id != t.server.duid:
        return fail(f"it names {f.server_id.hex() if f.server_id else 'no server'}")
    if not f.client_id:
        return fail("no Client Identifier")
    if not set(facts["defended"]) <= named:
        return fail(f"its IAs name {', '.join(sorted(named)) or 'nothing'}, not {', '.join(facts['defended'])}")
    why = multicast(f)
    return fail(why) if why else ok(f"server, client and {', '.join(sorted(named))} named, to ff02::1:2")
