"""``check_client6()``: RFC 8415 conformance of the DHCPv6 client on the link, judged as its server.

It runs ``serve6()`` with hooks (:mod:`.client_probe6`) and takes the client through its life: SOLICITs
left unanswered, an ADVERTISE with nothing in it, a REPLY with Rapid Commit it did not ask for, a
binding with short T1 and T2, a RENEW, a REBIND, a lease let run out, RECONFIGUREs with and without
authentication, and, given ``restart=``, ``release=`` and ``link_change=``, a restart, a RELEASE, a
link that goes down and up, and a restart whose address the server defends against its duplicate
address detection. Each check names its clause and level and keeps the client's messages as evidence.

    >>> r = check_client6(restart=lab.clients[0].restart, release=lab.clients[0].release,
    ...                   link_change=lab.clients[0].link_change)
    >>> r.failed, r.to_junit("client6.xml")
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from ..errors import UsageError
from ..wire.dhcp6 import CONFIRM, DECLINE, ORO, RAPID_COMMIT, REBIND, RENEW, REQUEST, SOLICIT
from ..wire.frames6 import Frame6
from . import client_checks6_life
from .checks import MUST, SHOULD, Check, CheckReport, catalog, run_checks, select, unsure
from .checks import broken as fail
from .checks import met as ok
from .checks import not_applicable as na
from .client_facts6 import SLACK, bind, elapsed, gap_readings, multicast, oro, seen_second, solicits
from .client_phases6 import CAP, LONG_GAP, QUIET, SOL_MAX_RT_GIVEN
from .client_probe6 import ClientProbe6

CLIENT_CHECKS6: list[Check] = []
check = catalog(CLIENT_CHECKS6)
SOL_MAX_RT_CODE = 82


# -- SOLICIT (18.2.1, 15, 16.1, 21.9) -------------------------------------------------------

@check("solicit-client-id", "8415 18.2.1", MUST, "a SOLICIT carries a Client Identifier")
def solicit_client_id(t: ClientProbe6) -> Any:
    bad = [f for f in solicits(t) if not f.client_id]
    return fail(f"{len(bad)} SOLICITs without one") if bad else ok("every SOLICIT carries its DUID")


@check("solicit-no-server-id", "8415 16.2", MUST, "a SOLICIT carries no Server Identifier")
def solicit_no_server_id(t: ClientProbe6) -> Any:
    bad = [f for f in solicits(t) if f.server_id is not None]
    return fail(f"{len(bad)} SOLICITs name a server (servers drop them)") if bad else ok("none names a server")


@check("solicit-elapsed-time", "8415 21.9", MUST, "a SOLICIT carries an Elapsed Time option")
def solicit_elapsed_time(t: ClientProbe6) -> Any:
    bad = [f for f in solicits(t) if elapsed(f) is None]
    return fail(f"{len(bad)} SOLICITs without one (or of the wrong size)") if bad else ok("every SOLICIT has one")


@check("elapsed-time-counts", "8415 21.9", MUST,
       "the elapsed time is 0 in the first message of an exchange and counts the time since it in the others")
def elapsed_time_counts(t: ClientProbe6) -> Any:
    got = solicits(t)
    first = got[0]
    e0 = elapsed(first)
    if e0 is None:
        return unsure("no Elapsed Time option to read")
    note = ""
    if t.phases["solicit"].facts["fresh"] and e0 > 10:
        if not seen_second(got):
            return fail(f"the first SOLICIT after its restart says {e0 / 100:.2f} s, not 0")
        note = " (its first never reached the link: the first seen is its second)"
    for f in got[1:]:
        e = elapsed(f)
        want = e0 + (f.time - first.time) * 100
        if e is None or abs(e - want) > 30 + 0.1 * want:
            return fail(f"a retransmission {f.time - first.time:.2f} s after the first says "
                        f"{(e or 0) / 100:.2f} s (expected about {want / 100:.2f} s)")
    return ok(f"{e0 / 100:.2f} s, then the time since the first, in {len(got)} SOLICITs{note}")


@check("solicit-xid-kept", "8415 16.1", MUST, "a retransmitted SOLICIT keeps its transaction id")
def solicit_xid_kept(t: ClientProbe6) -> Any:
    got = solicits(t)
    if len(got) < 2:
        return unsure("only one SOLICIT seen")
    ids = {f.txid for f in got}
    return ok(f"{len(got)} SOLICITs, one transaction id") if len(ids) == 1 else \
        fail(f"{len(ids)} transaction ids in {len(got)} SOLICITs of one exchange")


@check("solicit-first-retransmission", "8415 15", MUST,
       "the first retransmission of a SOLICIT comes IRT (1 s) plus 0 to 10% later")
def solicit_first_retransmission(t: ClientProbe6) -> Any:
    got = solicits(t)
    if not t.phases["solicit"].facts["fresh"]:
        return na("without restart= the first SOLICIT seen may not be its first")
    if seen_second(got):   # its own word for when it retransmitted: the first never reached the link
        e0 = (elapsed(got[0]) or 0) / 100
        return ok(f"its first SOLICIT never reached the link; its second says it came {e0:.2f} s after it")
    if len(got) < 2:
        return unsure("no retransmission seen")
    readings = gap_readings(got)
    for how, gaps in readings:
        if 1.0 - SLACK <= gaps[0] <= 1.1 + SLACK:
            return ok(f"{gaps[0]:.2f} s after its first ({how})")
    return fail(f"{' and '.join(f'{gaps[0]:.2f} s {how}' for how, gaps in readings)} after its first "
                "(RFC 8415: 1.0 to 1.1 s)")


@check("solicit-backoff-doubles", "8415 15", MUST,
       "each retransmission timeout of a SOLICIT doubles the previous, give or take 10%")
def solicit_backoff_doubles(t: ClientProbe6) -> Any:
    got = solicits(t)
    if len(got) < 3:
        return unsure(f"{len(got)} SOLICITs seen: two gaps are needed")
    readings = gap_readings(got)
    for how, gaps in readings:
        if all(1.9 * a - SLACK <= b <= 2.1 * a + SLACK for a, b in zip(gaps, gaps[1:])):
            return ok(f"gaps {', '.join(f'{g:.2f}' for g in gaps)} s ({how})")
    return fail("; ".join(f"gaps {', '.join(f'{g:.2f}' for g in gaps)} s {how}" for how, gaps in readings)
                + ": not 2 x +/- 10% each")


@check("solicit-to-all-servers", "8415 18.2.1", MUST,
       "a SOLICIT goes from the client's link-local address and port 546 to ff02::1:2 port 547")
def solicit_to_all_servers(t: ClientProbe6) -> Any:
    bad = [why for f in solicits(t) if (why := multicast(f))]
    return fail(bad[0]) if bad else ok("every SOLICIT to ff02::1:2 from its link-local address")


@check("solicit-oro-sol-max-rt", "8415 18.2.1", MUST, "a SOLICIT's Option Request option asks for SOL_MAX_RT (82)")
def solicit_oro_sol_max_rt(t: ClientProbe6) -> Any:
    f = solicits(t)[0]
    asked = oro(f)
    if not asked and f.msg is not None and f.msg.first(ORO) is None:
        return fail("no Option Request option")
    return ok(f"it asks for {sorted(asked)}") if SOL_MAX_RT_CODE in asked else \
        fail(f"it asks for {sorted(asked)}, not 82")


SLOW = "solicit-sol-max-rt-honoured"


@check(SLOW, "8415 18.2.9, 21.24", MUST,
       "after an ADVERTISE with NoAddrsAvail and SOL_MAX_RT 60 (an option it must process even then) its "
       "SOLICITs come at most 60 s plus 10% apart")
def solicit_sol_max_rt_honoured(t: ClientProbe6) -> Any:
    if not t.slow:
        return na("takes about 3 minutes of SOLICITs: check_client6(slow=True) runs it")
    facts = t.phase("solmaxrt").facts
    got: list[Frame6] = facts["solicits"]
    t.cite(facts["advertised"][1], *got[-3:])
    gaps = [b.time - a.time for a, b in zip(got, got[1:])]
    shown = ", ".join(f"{g:.1f}" for g in gaps)
    if any(g > CAP for g in gaps):
        return fail(f"gaps {shown} s: past the {SOL_MAX_RT_GIVEN} s it was given (it doubles on, as with the "
                    "default 3600 s)")
    if len([g for g in gaps if g >= LONG_GAP]) >= 2:
        return ok(f"gaps {shown} s: at the cap of {SOL_MAX_RT_GIVEN} s twice")
    if facts["quiet"] > QUIET:
        return fail(f"gaps {shown} s, then no SOLICIT for {facts['quiet']:.0f} s: past the {SOL_MAX_RT_GIVEN} s "
                    "it was given")
    return unsure(f"gaps {shown} s: the cap was not reached twice within the wait")


# -- ADVERTISE (18.2.9) ----------------------------------------------------------------

@check("empty-advertise-ignored", "8415 18.2.9", MUST,
       "an ADVERTISE with no address and no prefix (NoAddrsAvail) is ignored: no REQUEST for it")
def empty_advertise_ignored(t: ClientProbe6) -> Any:
    facts = t.phase("noaddrs").facts
    t.cite(facts["advertised"], facts["requested"], facts["next"])
    if facts["requested"] is not None:
        return fail("it sent a REQUEST for an ADVERTISE that gave it nothing")
    if facts["next"] is None:
        return unsure("it sent nothing after the empty ADVERTISE")
    return ok(f"it went on SOLICITing ({facts['next'].time - facts['at']:.1f} s later)")


@check("rapid-commit-only-when-both-agree", "8415 18.2.1", MUST,
       "rapid commit only when both ask: a REPLY to a SOLICIT without Rapid Commit is discarded, and a "
       "client that asked goes on with a REQUEST when the server ADVERTISEs")
def rapid_commit_only_when_both_agree(t: ClientProbe6) -> Any:
    asked = [f for f in solicits(t) if f.msg is not None and f.msg.first(RAPID_COMMIT) is not None]
    if asked:   # the server did not agree (an ADVERTISE): a REQUEST must follow
        facts = bind(t)
        return ok("it asked, our server ADVERTISEd, and it REQUESTed") if facts["request"] is not None else \
            fail("it asked for Rapid Commit and sent no REQUEST on our ADVERTISE")
    facts = t.phase("noaddrs").facts
    if facts["rapid"] is None:
        return unsure("no SOLICIT was left to answer with a REPLY")
    at, solicit = facts["rapid"]
    t.cite(solicit)
    got = t.next_message((REQUEST, RENEW, REBIND, CONFIRM, DECLINE, SOLICIT), t.timeline.index(solicit) + 1,
                         time.time() + t.wait)
    if got is None:
        return unsure(f"nothing from it within {t.wait:.0f} s of the REPLY and the ADVERTISE after it")
    f = got[1]
    t.cite(f)
    if f.msg_type in (REQUEST, SOLICIT):   # on the ADVERTISE that followed, or still soliciting
        return ok(f"its SOLICITs ask for no Rapid Commit: it discarded our REPLY with Rapid Commit and sent "
                  f"{f.type_name} {f.time - at:.1f} s later, as without it")
    return fail(f"its SOLICITs ask for no Rapid Commit, yet after our REPLY with Rapid Commit it sent "
                f"{f.type_name} ({f.time - at:.1f} s later): it took the REPLY")


# -- REQUEST (18.2.2) -----------------------------------------------------------------

@check("request-server-id", "8415 18.2.2", MUST, "a REQUEST names the server whose ADVERTISE it chose")
def request_server_id(t: ClientProbe6) -> Any:
    f = bind(t)["request"]
    if f.server_id == t.server.duid:
        return ok("it names ours")
    return fail(f"it names {f.server_id.hex() if f.server_id else 'no server'}")


@check("request-same-duid", "8415 18.2.2", MUST, "a REQUEST carries the DUID its SOLICITs did")
def request_same_duid(t: ClientProbe6) -> Any:
    f, first = bind(t)["request"], solicits(t)[0]
    return ok("the same DUID") if f.client_id == first.client_id else \
        fail(f"SOLICIT {(first.client_id or b'').hex()}, REQUEST {(f.client_id or b'').hex()}")


@check("request-new-xid", "8415 16.1", MUST, "a REQUEST starts a new exchange: a new transaction id")
def request_new_xid(t: ClientProbe6) -> Any:
    f = bind(t)["request"]
    used = {s.txid for s in solicits(t)}
    return fail("the transaction id of its SOLICITs") if f.txid in used else ok(f"{f.txid:#08x}, a new one")


@check("request-elapsed-time", "8415 21.9", MUST, "a REQUEST carries an Elapsed Time option")
def request_elapsed_time(t: ClientProbe6) -> Any:
    e = elapsed(bind(t)["request"])
    return fail("none") if e is None else ok(f"{e / 100:.2f} s")


@check("request-what-was-advertised", "8415 18.2.2", SHOULD,
       "a REQUEST asks for the addresses and prefixes the chosen ADVERTISE offered")
def request_what_was_advertised(t: ClientProbe6) -> Any:
    facts = bind(t)
    adv: Frame6 | None = facts["advertise"]
    if adv is None:
        return unsure("no ADVERTISE of ours seen")
    offered = {a.prefix for i in adv.ia_na + adv.ia_pd for a in i.addresses}
    asked = {a.prefix for i in facts["request"].ia_na + facts["request"].ia_pd for a in i.addresses}
    missing = offered - asked
    return ok(f"it asks for {', '.join(sorted(asked))}") if not missing else \
        fail(f"it does not name {', '.join(sorted(missing))}")


CLIENT_CHECKS6.extend(client_checks6_life.CHECKS)   # part two: RENEW, REBIND, RECONFIGURE, RELEASE, a restart


def check_client6(session: Any, *, device: str | None = None, restart: Callable[[], Any] | None = None,
                  release: Callable[[], Any] | None = None, link_change: Callable[[], Any] | None = None,
                  t1: int = 4, t2: int = 8, preferred: int = 20, valid: int = 30,
                  only: Iterable[str] | str | None = None, skip: Iterable[str] | str | None = None,
                  timeout: float = 30.0, slow: bool = False, progress: bool = True, **serve_kw: Any) -> CheckReport:
    """Runs the DHCPv6 client checks (``only`` some, less ``skip``) against the client ``device``
    (a MAC or a DUID in hex; default: the first that SOLICITs), as its server on the session's
    interface: ``t1``, ``t2``, ``preferred`` and ``valid`` are the lease it lives through;
    ``restart`` starts the device over (its first SOLICIT is then known, its DUID and IAIDs
    after a restart are checked, and its DECLINE when its duplicate address detection finds its
    new address in use), ``release`` makes it give its lease back, ``link_change`` takes its link
    down and up (its CONFIRM or REBIND after is checked); ``slow`` runs the check that takes
    minutes (SOL_MAX_RT honoured, about 3 of them); ``timeout`` bounds
    each wait for the device. Ctrl-C returns what was done."""
    checks = select(CLIENT_CHECKS6, only, skip)
    if not 0 < t1 < t2 <= preferred <= valid:
        raise UsageError(f"need 0 < t1 < t2 <= preferred <= valid, got {t1}, {t2}, {preferred}, {valid}")
    if session.server is not None and session.server.running:
        raise UsageError("check_client6() plays the server itself: stop the running one first (srv.stop())")
    probes: list[ClientProbe6] = []

    def attach(server: Any) -> None:   # before the server reads a message: none is answered unseen
        probes.append(ClientProbe6(server, device=device, restart=restart, release=release, wait=timeout,
                                   link_change=link_change))

    server = session.serve(t1=t1, t2=t2, preferred=preferred, valid=valid, before_start=attach, restore=False,
                           **serve_kw)
    probe = probes[0]
    probe.slow = slow
    report = CheckReport("client6", device or "?")
    try:
        run_checks(report, checks, probe, progress=progress)
    finally:
        server.stop()
        server.detach()
        probe.leave_running()
    report.target = probe.duid or report.target
    session.last = report
    return report


__all__ = ["CLIENT_CHECKS6", "check_client6"]
