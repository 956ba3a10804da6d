"""``check_server6()``: RFC 8415 conformance of the DHCPv6 server on the link, in the style of the
IPv6 Ready DHCPv6 tests: what its ADVERTISE and REPLY carry, what it must drop (section 16), the
status codes it must give (18.3), lifetimes, relays, and (``destructive=True``) RELEASE and DECLINE.

    >>> r = check_server6(destructive=True); r.failed, r.to_junit("server6.xml")
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable

from ..wire.dhcp6 import (
    ADVERTISE,
    CLIENT_PORT6,
    CONFIRM,
    DECLINE,
    IA_NA,
    INFORMATION_REQUEST,
    REBIND,
    RELEASE,
    RENEW,
    REPLY,
    SERVER_PORT6,
    STATUS6,
    ia,
    iaaddr,
)
from ..wire.frames6 import Frame6
from ..wire.messages6 import Relay6, client_id, elapsed, oro, rapid_commit, server_id
from . import server_checks6_more
from .checks import MUST, SHOULD, Check, CheckReport, catalog, run_checks, select, unsure
from .checks import broken as fail
from .checks import met as ok
from .checks import not_applicable as na
from .server_probe6 import ServerProbe6, fill_pool, held_ias

SERVER_CHECKS6: list[Check] = []
check = catalog(SERVER_CHECKS6)
OTHER_DUID = bytes.fromhex("00030001020000c0ffee")   # DUID-LL of a server that is not on the link
OFF_LINK = "2001:db8::77"                                # documentation prefix (RFC 3849): on no link


def _status(f: Frame6 | None) -> int | None:
    return f.status[0] if f is not None and f.status is not None else None


def _ia_status(f: Frame6) -> int | None:
    return next((i.status[0] for i in f.ia_na + f.ia_pd if i.status is not None), None)


# -- ADVERTISE (18.3.9) -----------------------------------------------------------------

@check("advertise-server-id", "8415 18.3.9", MUST, "an ADVERTISE carries the server's DUID")
def advertise_server_id(t: ServerProbe6) -> Any:
    f = t.advertised()
    return ok(f.server or "") if f.server_id else fail("no Server Identifier")


@check("advertise-client-id", "8415 18.3.9", MUST, "an ADVERTISE carries the client's DUID as it came")
def advertise_client_id(t: ServerProbe6) -> Any:
    f = t.advertised()
    return ok("ours, as sent") if f.client_id == t.duid else fail(
        f"it carries {(f.client_id or b'').hex() or 'none'}")


@check("advertise-addressed", "8415 18.3.9", MUST,
       "an ADVERTISE goes to the client's address and port 546, from port 547")
def advertise_addressed(t: ServerProbe6) -> Any:
    f = t.advertised()
    if f.ip_dst != t.address:
        return fail(f"to {f.ip_dst}, not {t.address}")
    if (f.sport, f.dport) != (SERVER_PORT6, CLIENT_PORT6):
        return fail(f"from port {f.sport} to {f.dport}")
    return ok(f"to {f.ip_dst} port 546")


@check("ia-na-lifetimes-consistent", "8415 21.4, 21.6", MUST,
       "in an IA_NA, T1 <= T2 and each address's preferred lifetime <= its valid lifetime")
def ia_na_lifetimes(t: ServerProbe6) -> Any:
    return _lifetimes(t.advertised().ia_na, "IA_NA")


@check("ia-pd-lifetimes-consistent", "8415 21.21, 21.22", MUST,
       "in an IA_PD, T1 <= T2 and each prefix's preferred lifetime <= its valid lifetime")
def ia_pd_lifetimes(t: ServerProbe6) -> Any:
    f = t.advertised()
    if not f.ia_pd or not f.prefixes:
        return na("it delegates no prefix")
    return _lifetimes(f.ia_pd, "IA_PD")


def _lifetimes(ias: list[Any], kind: str) -> Any:
    for i in ias:
        if i.t2 and i.t1 > i.t2:
            return fail(f"{kind} {i.iaid}: T1 {i.t1} > T2 {i.t2}")
        for a in i.addresses:
            if a.preferred > a.valid:
                return fail(f"{a.prefix}: preferred {a.preferred} > valid {a.valid}")
    held = [i for i in ias if i.addresses]
    if not held:
        return unsure(f"no {kind} with an address in it")
    i = held[0]
    return ok(f"T1 {i.t1} <= T2 {i.t2} <= preferred {i.addresses[0].preferred} <= valid {i.addresses[0].valid}")


@check("timers-within-preferred", "8415 21.4, 21.21", SHOULD,
       "T1 and T2 fall within the shortest preferred lifetime (0.5 and 0.8 of it are recommended)")
def timers_within_preferred(t: ServerProbe6) -> Any:
    f = t.advertised()
    for i in f.ia_na + f.ia_pd:
        shortest = min((a.preferred for a in i.addresses), default=None)
        if shortest and i.t2 > shortest:
            return fail(f"IA_{i.kind} {i.iaid}: T2 {i.t2} > the preferred lifetime {shortest}: the client cannot "
                        "rebind before its addresses are deprecated")
    held = [i for i in f.ia_na + f.ia_pd if i.addresses]
    return ok(", ".join(f"IA_{i.kind}: T1 {i.t1}, T2 {i.t2}, preferred {i.addresses[0].preferred}" for i in held)) \
        if held else unsure("no IA with an address in it")


@check("rapid-commit-consistent", "8415 18.3.1", MUST,
       "to a SOLICIT with Rapid Commit: a REPLY carrying Rapid Commit, or an ADVERTISE without it")
def rapid_commit_consistent(t: ServerProbe6) -> Any:
    f = t.solicit(t.new_duid(), rapid_commit()).reply
    if f is None:
        return unsure("no answer")
    if f.msg_type == REPLY:
        return ok("a REPLY with Rapid Commit (it is configured for it)") if f.rapid_commit else \
            fail("a REPLY without Rapid Commit")
    if f.msg_type == ADVERTISE:
        return fail("an ADVERTISE carrying Rapid Commit") if f.rapid_commit else \
            ok("an ADVERTISE (rapid commit not configured)")
    return fail(f"a {f.type_name}")


@check("hint-honoured", "8415 18.3.1", SHOULD,
       "a client SOLICITing again with the address it was offered as a hint is offered it again")
def hint_honoured(t: ServerProbe6) -> Any:
    f = t.advertised()
    if not f.addresses:
        return unsure("no address ADVERTISEd")
    a = f.addresses[0].address
    again = t.ask(1, [client_id(t.duid), elapsed(0), ia(IA_NA, f.ia_na[0].iaid, 0, 0, iaaddr(a, 0, 0))]).reply
    if again is None or not again.addresses:
        return unsure("no second ADVERTISE with an address")
    b = again.addresses[0].address
    return ok(f"{a} both times") if a == b else fail(f"{a}, then {b} for a hint of {a}")


# -- what a server drops (16) -------------------------------------------------------------

def _dropped(t: ServerProbe6, msg_type: int, options: list[bytes], why: str) -> Any:
    got = t.ask(msg_type, options, quiet=True)
    if got.replies:
        return fail(f"it answered with {got.replies[0].type_name}: {why}")
    return ok(f"no answer within {t.quiet} s")


@check("solicit-with-server-id-dropped", "8415 16.2", MUST, "a SOLICIT that names a server is dropped")
def solicit_with_server_id_dropped(t: ServerProbe6) -> Any:
    t.advertised()
    return _dropped(t, 1, [client_id(t.new_duid()), server_id(t.server_duid or b""), elapsed(0), ia(IA_NA, 1)],
                    "a SOLICIT carrying a Server Identifier")


@check("solicit-without-client-id-dropped", "8415 16.2", MUST, "a SOLICIT without a Client Identifier is dropped")
def solicit_without_client_id_dropped(t: ServerProbe6) -> Any:
    return _dropped(t, 1, [elapsed(0), ia(IA_NA, 1)], "no Client Identifier")


@check("request-for-another-server-dropped", "8415 16.4", MUST, "a REQUEST naming another server is dropped")
def request_other_server_dropped(t: ServerProbe6) -> Any:
    f = t.advertised()
    return _dropped(t, 3, [client_id(t.duid), server_id(OTHER_DUID), elapsed(0), *held_ias(f)],
                    "another server's DUID")


@check("request-without-client-id-dropped", "8415 16.4", MUST, "a REQUEST without a Client Identifier is dropped")
def request_without_client_id_dropped(t: ServerProbe6) -> Any:
    f = t.advertised()
    return _dropped(t, 3, [server_id(f.server_id or b""), elapsed(0), *held_ias(f)], "no Client Identifier")


@check("renew-for-another-server-dropped", "8415 16.6", MUST, "a RENEW naming another server is dropped")
def renew_other_server_dropped(t: ServerProbe6) -> Any:
    f = t.advertised()
    return _dropped(t, RENEW, [client_id(t.duid), server_id(OTHER_DUID), elapsed(0), *held_ias(f)],
                    "another server's DUID")


@check("release-for-another-server-dropped", "8415 16.9", MUST, "a RELEASE naming another server is dropped")
def release_other_server_dropped(t: ServerProbe6) -> Any:
    f = t.advertised()
    return _dropped(t, RELEASE, [client_id(t.duid), server_id(OTHER_DUID), elapsed(0),
                                 *held_ias(f)], "another server's DUID")


@check("rebind-with-server-id-dropped", "8415 16.7", MUST, "a REBIND that names a server is dropped")
def rebind_with_server_id_dropped(t: ServerProbe6) -> Any:
    f = t.advertised()
    return _dropped(t, REBIND, [client_id(t.duid), server_id(f.server_id or b""), elapsed(0),
                                *held_ias(f)], "a REBIND carrying a Server Identifier")


# -- status codes and answers (18.3) ---------------------------------------------------------

@check("request-binds", "8415 18.3.2", MUST, "a REQUEST for what was ADVERTISEd gets a REPLY that binds it")
def request_binds(t: ServerProbe6) -> Any:
    _duid, reply = t.bound()
    a = reply.addresses[0]
    return ok(f"{a.address}, valid {a.valid} s") if a.valid else fail(f"{a.address} with a valid lifetime of 0")


@check("unicast-request-answered", "8415 18.4", SHOULD,
       "a REQUEST sent unicast is answered: UseMulticast (RFC 8415, no Server Unicast option given) "
       "or as if multicast (RFC 9915 deprecates both)")
def unicast_request_answered(t: ServerProbe6) -> Any:
    f = t.advertised()
    got = t.ask(3, [client_id(t.duid), server_id(f.server_id or b""), elapsed(0), *held_ias(f)],
                unicast=True, quiet=True)
    reply = got.reply
    if reply is None:
        return fail(f"no answer to a REQUEST sent to {t.server_ip}")
    if _status(reply) == 5:
        return ok("UseMulticast (RFC 8415 18.4)")
    if reply.addresses:
        return ok("answered as if multicast (RFC 9915)")
    return fail(f"a {reply.type_name} with status {STATUS6.get(_status(reply) or 0, _status(reply))} and no address")


@check("renew-unknown-nobinding", "8415 18.3.4", MUST,
       "a RENEW of an IA the server does not know gets NoBinding (or a new binding, where so configured)")
def renew_unknown_nobinding(t: ServerProbe6) -> Any:
    held = t.advertised().addresses
    inner = iaaddr(held[0].address if held else "::1", 0, 0)   # an address of the link, in an IA never bound
    got = t.ask(RENEW, [client_id(t.new_duid()), server_id(t.server_duid or b""), elapsed(0),
                        ia(IA_NA, 9, 0, 0, inner)])
    if got.reply is None:
        return fail("no answer (18.3.4: a REPLY whose IA says NoBinding)")
    status = _ia_status(got.reply)
    if status == 3:
        return ok("NoBinding in the IA")
    if any(a.valid for a in got.reply.addresses):
        return ok("a new binding for it (allowed to a server configured to create bindings on RENEW)")
    return fail(f"IA status {STATUS6.get(status or 0, status)}, neither NoBinding nor a binding")


@check("rebind-off-link-zeroed", "8415 18.3.5", MUST,
       "a REBIND of an address not on the link gets it back with lifetimes 0")
def rebind_off_link_zeroed(t: ServerProbe6) -> Any:
    got = t.ask(REBIND, [client_id(t.new_duid()), elapsed(0), ia(IA_NA, 9, 0, 0, iaaddr(OFF_LINK, 0, 0))])
    reply = got.reply
    if reply is None:
        return fail("no answer (18.3.5: lifetimes 0 for an address not appropriate for the link)")
    back = [a for i in reply.ia_na for a in i.addresses if a.address == OFF_LINK]
    if back and all(a.valid == 0 and a.preferred == 0 for a in back):
        return ok(f"{OFF_LINK} with lifetimes 0")
    if back:
        return fail(f"{OFF_LINK} with lifetimes {back[0].preferred}/{back[0].valid}")
    return fail(f"the REPLY does not name {OFF_LINK} (status {_ia_status(reply)})")


@check("confirm-off-link-notonlink", "8415 18.3.3", MUST, "a CONFIRM of an address not on the link gets NotOnLink")
def confirm_off_link(t: ServerProbe6) -> Any:
    got = t.ask(CONFIRM, [client_id(t.new_duid()), elapsed(0), ia(IA_NA, 1, 0, 0, iaaddr(OFF_LINK, 0, 0))])
    if got.reply is None:
        return fail("no answer (18.3.3: NotOnLink)")
    return ok("NotOnLink") if _status(got.reply) == 4 else fail(f"status {_status(got.reply)}, not NotOnLink (4)")


@check("confirm-on-link-success", "8415 18.3.3", MUST, "a CONFIRM of an address on the link gets Success")
def confirm_on_link(t: ServerProbe6) -> Any:
    f = t.advertised()
    if not f.addresses:
        return unsure("no address of the link to confirm")
    got = t.ask(CONFIRM, [client_id(t.duid), elapsed(0), *held_ias(f)])
    if got.reply is None:
        return fail("no answer (18.3.3: Success)")
    status = _status(got.reply)
    return ok("Success") if status in (0, None) else fail(f"status {STATUS6.get(status, status)}")


@check("information-request-answered", "8415 18.3.6", MUST,
       "an INFORMATION-REQUEST gets a REPLY with the options asked for and no IA")
def information_request_answered(t: ServerProbe6) -> Any:
    got = t.ask(INFORMATION_REQUEST, [client_id(t.new_duid()), elapsed(0), oro((23, 24))])
    reply = got.reply
    if reply is None:
        return fail("no answer")
    if reply.ia_na or reply.ia_pd:
        return fail("the REPLY carries an IA")
    return ok(f"DNS {', '.join(reply.dns_servers) or 'none'}, no IA")


@check("relay-forw-answered", "8415 19.3, 21.18", MUST,
       "a relayed SOLICIT is answered in a RELAY-REPL to the relay, interface-id echoed")
def relay_forw_answered(t: ServerProbe6) -> Any:
    held = t.advertised().addresses
    if not held:
        return unsure("no address ADVERTISEd: the link's prefix, for the relay's link-address, is not known")
    # a relay on the client's link names that link by an address of it (19.1.1)
    link = str(ipaddress.IPv6Network(f"{held[0].address}/64", strict=False).network_address + 0xFE)
    relay = Relay6(link_address=link, interface_id=b"scapy-dhcp-port-7")
    got = t.ask(1, [client_id(t.new_duid()), elapsed(0), ia(IA_NA, 1)], relay=relay)
    reply = got.reply
    if reply is None:
        return fail("no RELAY-REPL")
    outer = reply.outer
    if not reply.relayed or outer is None:
        return fail(f"a bare {reply.type_name}, not in a RELAY-REPL")
    if outer.first(18) != b"scapy-dhcp-port-7":
        return fail("the interface-id was not echoed")
    if reply.dport != SERVER_PORT6:
        return fail(f"to port {reply.dport}, not the relay's 547")
    return ok(f"{reply.type_name} in a RELAY-REPL, interface-id echoed")


@check("retransmitted-request-same-answer", "8415 18.3.2", SHOULD,
       "a REQUEST retransmitted (the same transaction id) gets the same address")
def retransmitted_request_same_answer(t: ServerProbe6) -> Any:
    duid = t.new_duid()
    adv = t.solicit(duid).reply
    if adv is None or not adv.addresses:
        return unsure("no ADVERTISE with an address")
    first = t.request(duid, adv, txid=0x5EC0DE).reply
    again = t.request(duid, adv, txid=0x5EC0DE).reply
    if first is None or again is None or not first.addresses or not again.addresses:
        return unsure("no two REPLYs with an address")
    a, b = first.addresses[0].address, again.addresses[0].address
    return ok(f"{a} both times") if a == b else fail(f"{a}, then {b}")


# -- destructive: RELEASE and DECLINE change the server's state ----------------------------

@check("release-answered", "8415 18.3.7", MUST, "a RELEASE gets a REPLY with status Success", destructive=True)
def release_answered(t: ServerProbe6) -> Any:
    duid, reply = t.bound()
    got = t.ask(RELEASE, [client_id(duid), server_id(reply.server_id or b""), elapsed(0), *held_ias(reply)])
    if got.reply is None:
        return fail("no answer to the RELEASE")
    status = _status(got.reply)
    return ok("Success") if status in (0, None) else fail(f"status {STATUS6.get(status, status)}")


@check("decline-holds-back", "8415 18.3.8", MUST,
       "a DECLINE gets Success, and the declined address goes to no other client, not even once the "
       "rest of the pool is bound (the bindings are released after)", destructive=True)
def decline_holds_back(t: ServerProbe6) -> Any:
    duid, reply = t.bound()
    address = reply.addresses[0].address
    got = t.ask(DECLINE, [client_id(duid), server_id(reply.server_id or b""), elapsed(0),
                          *held_ias(reply)[:1]])
    if got.reply is None:
        return fail("no answer to the DECLINE")
    # A server that picks addresses by a hash of the DUID (dnsmasq) offers a freed address to a few
    # new clients only by chance: new clients bind until the pool is full, or the address comes back.
    filled = fill_pool(t, until=lambda adv: address in [a.address for a in adv.addresses])
    if filled.hit is not None:
        return fail(f"{address} offered to another client after its DECLINE ({filled.bound} others bound first)")
    if filled.full:
        return ok(f"{address} offered to none of {filled.bound} new clients, until the pool was full")
    return unsure(f"{address} offered to none of {filled.bound} new clients; the pool was not filled")


SERVER_CHECKS6.extend(server_checks6_more.CHECKS)   # part two: a REPLY's names, the same address, a full pool
# The ones that change the server's state last: a server may keep released addresses for their
# clients (Kea 2.6's lease affinity), so once the pool was filled and given back it can stay full.
SERVER_CHECKS6.sort(key=lambda c: c.destructive)


def check_server6(session: Any, *, only: Iterable[str] | str | None = None, skip: Iterable[str] | str | None = None,
                  destructive: bool = False, timeout: float = 3.0, quiet: float = 1.0, server: str | None = None,
                  progress: bool = True) -> CheckReport:
    """Runs the DHCPv6 server checks (``only`` some, less ``skip``) against the server on the
    session's link (the first to ADVERTISE, or the one whose DUID in hex is ``server``) and returns
    the report; ``timeout`` bounds each answer, ``quiet`` each silence a rule asks for."""
    checks = select(SERVER_CHECKS6, only, skip)
    probe = ServerProbe6(session.endpoint, wait=timeout, quiet=quiet, server=server)
    report = CheckReport("server6")
    try:
        first = probe.learn()
        report.target = first.server or "?"
        run_checks(report, checks, probe, destructive=destructive, progress=progress)
    finally:
        probe.close()
    session.last = report
    return report


__all__ = ["SERVER_CHECKS6", "check_server6"]
