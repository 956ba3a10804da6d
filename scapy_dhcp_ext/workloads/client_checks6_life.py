"""``check_client6()``, part two: the client's life past its binding (RFC 8415 18.2.4, 18.2.5,
16.11, 18.2.11, 18.2.7, 11, 12.1): its RENEW at T1, its REBIND at T2, RECONFIGUREs, its RELEASE and
what it keeps across a restart. The phases are :mod:`.client_probe6`'s."""

from __future__ import annotations

from typing import Any

from ..wire.frames6 import Frame6
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
