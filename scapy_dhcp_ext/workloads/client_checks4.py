"""``check_client()``: RFC conformance checks for the DHCP client on the link.

The client is a black box too, so the checks play its server (``serve()``
with short leases) and watch what it sends, through its whole life, in
phases that each leave it where the next begins:

1. *silence*: its DISCOVERs go unanswered, and the intervals between them
   are measured (4, 8, 16 s, RFC 2131 4.1), until they show a verdict;
2. *bind*: OFFER and ACK, the offered address answered on ARP by another
   host (a client that probes should DECLINE it), then a clean lease;
3. *life*: its renewals and rebinds go unanswered, from T1 to expiry, and an
   ARP probe after expiry asks whether it still uses the address;
4. *nak*: its next REQUEST gets a NAK: it should start over;
5. *foreign*: OFFERs with another xid and another chaddr come first, and a
   NAK from a server it did not select before our ACK: it should ignore them.

Parts two to four (:mod:`.client_checks4_fields`, :mod:`.client_checks4_more`,
:mod:`.client_checks4_restart`) hold each message to RFC 2131 table 5, follow the client
past that lease, and last start it over for a REQUEST nobody answers (``slow=True``) and
OFFERs with option 108 (RFC 8925), and (``inform=``) hold its DHCPINFORM to table 5.

Each check judges what a phase recorded, and cites those frames. A phase runs
only when a check selected needs it. ``restart=`` (a callable that restarts
the device: ``lab.clients[0].restart``) starts a phase at once; without it,
the checks NAK the client's requests until it DISCOVERs again.

RFCs: 2131 (2.2, 3.5, 4.1, 4.2, 4.3.2, 4.4.1, 4.4.5), 5227 (ARP probes), 8925 (option 108).

Usage::

    >>> report = check_client(restart=lab.clients[0].restart)
    client 02:5c:...: 12 pass, 3 warn, 2 fail in 64.0 s
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import UsageError, old_keyword
from ..wire import BROADCAST_IP, DISCOVER, OFFER, ZERO_IP, mac_str
from ..wire.frames4 import parse_frame
from . import backoff4, client_checks4_fields, client_checks4_more, client_checks4_restart
from .checks import MUST, SHOULD, Check, CheckReport, NoEvidence, broken, catalog, met, not_applicable, run_checks
from .checks import select as select_checks
from .client_facts4 import first_request, lease_requests, offer_for, selecting_request
from .client_probe4 import (
    IN_USE_MAC,
    OTHER_MAC,
    ClientProbe,
    bind_phase,
    foreign_phase,
    life_phase,
    nak_phase,
    silence_phase,
)

if TYPE_CHECKING:
    from .host import Host

CLIENT_CHECKS: list[Check] = []
client_check = catalog(CLIENT_CHECKS)


# -- the checks -------------------------------------------------------------------

def _within(at: float | None, want: float, slack: float = 2.0) -> bool:
    return at is not None and want - 1.5 <= at <= want + max(slack, 0.1 * want)


@client_check("retransmit-backoff", "2131 4.1", SHOULD,
              "unanswered, the DISCOVER is sent again after 4, 8, 16 ... up to 64 s, each +/- 1 s (from any step)")
def retransmit_backoff(t: ClientProbe) -> Any:
    facts = silence_phase(t).facts
    ds = facts["discovers"]
    kept, why = backoff4.judge([b.time - a.time for a, b in zip(ds, ds[1:])], facts.get("waited"))
    return met(why) if kept else broken(why)


@client_check("secs-field-set", "2131 4.4.1", SHOULD,
              "secs counts the seconds since the client began: a retransmission 2 s on or later is not 0")
def secs_field_set(t: ClientProbe) -> Any:
    ds = silence_phase(t).facts["discovers"]
    late = [d for d in ds[1:] if d.time - ds[0].time >= 2.0]
    if not late:
        return not_applicable("no retransmission came 2 s or more after the first DISCOVER")
    secs = [int.from_bytes(d.raw[50:52], "big") for d in late]   # BOOTP secs, after xid
    return met(f"secs {secs}") if all(secs) else broken(
        f"secs is 0 in a DISCOVER sent {late[secs.index(0)].time - ds[0].time:.1f} s after the first")


@client_check("request-selecting-has-server-id-and-address", "2131 4.3.2", MUST,
              "the REQUEST in SELECTING has options 54 and 50, and ciaddr 0")
def request_selecting(t: ClientProbe) -> Any:
    req = selecting_request(t)
    ack = bind_phase(t).facts["ack"]
    problems = []
    if req.server_id != t.server.pool.server_ip:
        problems.append(f"option 54 is {req.server_id or 'missing'}")
    if req._addr(50) != offer_for(t, req):
        problems.append(f"option 50 is {req._addr(50) or 'missing'}")
    if req.ciaddr != ZERO_IP:
        problems.append(f"ciaddr is {req.ciaddr}")
    return broken("; ".join(problems)) if problems else met(
        f"option 54 {req.server_id}, option 50 {req._addr(50)}, ciaddr 0 (bound to {ack.yiaddr})")


@client_check("xid-stable-in-transaction", "2131 4.4.1", MUST,
              "the REQUEST carries the xid of the DISCOVER and OFFER it answers (table 5)")
def xid_stable(t: ClientProbe) -> Any:
    req = selecting_request(t)
    offers = [parse_frame(raw) for ts, raw in t.sent if ts <= req.time and parse_frame(raw).message_type == OFFER]
    if not offers:
        raise NoEvidence("no OFFER was sent before its REQUEST")
    last = offers[-1]
    return met(f"xid {req.xid:#010x} in DISCOVER, OFFER and REQUEST") if req.xid == last.xid else broken(
        f"the OFFER had xid {last.xid:#010x}, the REQUEST {req.xid:#010x}")


@client_check("declines-address-in-use", "2131 4.4.1", SHOULD,
              "an offered address another host answers ARP for is DECLINEd (2.2; RFC 5227)")
def declines_address_in_use(t: ClientProbe) -> Any:
    if not t.decline:
        return not_applicable("skipped")
    bind = bind_phase(t)
    address, declined = bind.facts["in_use"], bind.facts["decline"]
    if address is None:
        raise NoEvidence("no address was offered")
    if declined is not None and declined._addr(50) == address:
        return met(f"DECLINE for {address}, which {IN_USE_MAC} answered ARP for")
    return broken(f"bound to {address} although {IN_USE_MAC} answers ARP for it; no DECLINE within 5 s")


@client_check("renew-at-t1", "2131 4.4.5", MUST, "at T1 the client sends a REQUEST to renew")
def renew_at_t1(t: ClientProbe) -> Any:
    first, at = first_request(t, lambda f: True)
    if first is None:
        return broken(f"no REQUEST in the {t.lease_time} s lease (T1 {t.t1} s)")
    fits = _within(at, t.t1) or _within(at, t.lease_time / 2)
    return met(f"first renewal {at:.1f} s after the ACK (T1 {t.t1} s)") if fits else broken(
        f"first REQUEST {at:.1f} s after the ACK, T1 was {t.t1} s")


@client_check("renew-unicast-with-ciaddr", "2131 4.3.2", MUST,
              "a RENEWING REQUEST is unicast to the server, with ciaddr and without options 50 and 54")
def renew_unicast(t: ClientProbe) -> Any:
    reqs = lease_requests(t)
    unicast = [f for f in reqs if f.ip_dst != BROADCAST_IP]
    if not reqs:
        raise NoEvidence("no renewal within the lease")
    if not unicast:
        return broken("every REQUEST during the lease was broadcast")
    f, server = unicast[0], t.server.pool.server_ip
    problems = [p for ok, p in ((f.ip_dst == server, f"sent to {f.ip_dst}"),
                                (f.ciaddr == bind_phase(t).facts["ack"].yiaddr, f"ciaddr {f.ciaddr}"),
                                (50 not in f.options, "option 50 present"),
                                (54 not in f.options, "option 54 present")) if not ok]
    return broken("; ".join(problems)) if problems else met(f"unicast to {server}, ciaddr {f.ciaddr}, no 50 or 54")


@client_check("rebind-at-t2-broadcast", "2131 4.4.5", MUST,
              "unanswered until T2, the client broadcasts a REQUEST (REBINDING) with ciaddr")
def rebind_at_t2(t: ClientProbe) -> Any:
    first, at = first_request(t, lambda f: f.ip_dst == BROADCAST_IP)
    if first is None:
        return broken(f"no broadcast REQUEST before expiry at {t.lease_time} s (T2 {t.t2} s)")
    fits = _within(at, t.t2) or _within(at, t.lease_time * 7 / 8)
    return met(f"broadcast REQUEST {at:.1f} s after the ACK (T2 {t.t2} s)") if fits else broken(
        f"first broadcast REQUEST {at:.1f} s after the ACK; T2 was {t.t2} s")


@client_check("honours-t1-t2-options", "2131 4.4.5", SHOULD,
              "the client renews at the T1 and rebinds at the T2 the server gave (options 58, 59)")
def honours_t1_t2(t: ClientProbe) -> Any:
    renew = first_request(t, lambda f: f.ip_dst != BROADCAST_IP)[1]
    rebind = first_request(t, lambda f: f.ip_dst == BROADCAST_IP)[1]
    shown = (f"renewed at {renew:.1f} s" if renew is not None else "no renewal") + ", " + (
        f"rebound at {rebind:.1f} s" if rebind is not None else "no rebind")
    ok = _within(renew, t.t1) and _within(rebind, t.t2)
    return met(f"{shown}; T1 {t.t1}, T2 {t.t2}") if ok else broken(f"{shown}; T1 was {t.t1} s, T2 {t.t2} s")


@client_check("stops-using-expired-lease", "2131 4.4.5", MUST,
              "once the lease expires, the client no longer uses the address (it stops answering ARP for it)")
def stops_using_expired(t: ClientProbe) -> Any:
    life = life_phase(t)
    address = bind_phase(t).facts["ack"].yiaddr
    return broken(f"{address} still answers ARP {t.lease_time + 1.5:g} s after the ACK") if life.facts[
        "still_answers"] else met(f"no ARP answer for {address} after expiry")


@client_check("nak-restarts-discovery", "2131 4.4.1", MUST, "after a NAK, the client starts over with a DISCOVER")
def nak_restarts(t: ClientProbe) -> Any:
    nak = nak_phase(t)
    after = nak.facts["after"]
    return met(f"DISCOVER {after.time - nak.facts['nak_at']:.1f} s after the NAK") if after is not None else broken(
        "no DISCOVER within 15 s of the NAK")


@client_check("xid-changes-between-transactions", "2131 4.1", SHOULD,
              "a new transaction (DISCOVER after expiry or a NAK) has a new xid")
def xid_changes(t: ClientProbe) -> Any:
    first = selecting_request(t).xid
    later = nak_phase(t).facts["discover"].xid
    return met(f"{first:#010x}, then {later:#010x}") if later != first else broken(f"xid {first:#010x} used again")


def _took_foreign(t: ClientProbe, key: str, how: str) -> Any:
    """Whether the client REQUESTed the foreign OFFER ``key`` of the foreign phase."""
    f = foreign_phase(t).facts
    took = f["request"]._addr(50)
    return broken(f"it REQUESTed {took}, offered {how}") if took == f[key] else met(
        f"it REQUESTed {took}, not {f[key]} (offered {how})")


@client_check("ignores-foreign-xid", "2131 4.1", MUST, "an OFFER with another xid is not taken")
def ignores_foreign_xid(t: ClientProbe) -> Any:
    return _took_foreign(t, "foreign_xid", "with the wrong xid")


@client_check("ignores-foreign-chaddr", "2131 4.1", MUST, "an OFFER for another chaddr is not taken")
def ignores_foreign_chaddr(t: ClientProbe) -> Any:
    return _took_foreign(t, "foreign_chaddr", f"to {OTHER_MAC}")


@client_check("ignores-nak-from-unselected-server", "2131 4.4.1", SHOULD,
              "a NAK from a server the client did not select does not end its transaction")
def ignores_foreign_nak(t: ClientProbe) -> Any:
    f = foreign_phase(t).facts
    if "ack_at" not in f:
        raise NoEvidence("its REQUEST was not for our OFFER, so no NAK was tried")
    return broken(f"it started over {f['after'].time - f['ack_at']:.1f} s after a NAK from {t.foreign_ip}") if f[
        "after"] is not None else met(f"it kept our ACK despite a NAK from {t.foreign_ip}")


@client_check("client-id-stable", "2131 4.2", MUST,
              "a client that sends a client identifier (option 61) sends the same one in every message")
def client_id_stable(t: ClientProbe) -> Any:
    bind_phase(t)
    ids = {f.options.get(61) for f in t.timeline if f.is_dhcp}
    if ids == {None}:
        return not_applicable("the client sends no option 61")
    only = next(iter(ids)) or b""
    return met(f"option 61 {only.hex()} in all {len(t.timeline)} messages") if len(ids) == 1 else broken(
        f"{len(ids)} different client identifiers (or none in some): {sorted((i or b'').hex() for i in ids)}")


@client_check("param-request-list-stable", "2131 3.5", MUST,
              "the parameter request list (option 55) of the DISCOVER is in its REQUEST too")
def prl_stable(t: ClientProbe) -> Any:
    req = selecting_request(t)
    discover = next((f for f in reversed(t.timeline) if f.message_type == DISCOVER and f.time <= req.time), None)
    if discover is None:
        raise NoEvidence("no DISCOVER before the REQUEST")
    a, b = discover.options.get(55), req.options.get(55)
    if a is None:
        return not_applicable("the DISCOVER has no option 55")
    return met(f"option 55 {list(a)} in both") if a == b else broken(
        f"DISCOVER asked for {list(a)}, REQUEST for {list(b) if b else 'nothing'}")


CLIENT_CHECKS.extend(client_checks4_fields.CHECKS)   # part two: table 5 per state, then what runs on it
CLIENT_CHECKS.extend(client_checks4_more.CHECKS)     # part three: infinity, FORCERENEW, a restart
CLIENT_CHECKS.extend(client_checks4_restart.CHECKS)  # part four, last: a REQUEST unanswered, option 108


def check_client(session: Host, *, device_mac: str | None = None, restart: Callable[[], Any] | None = None,
                 release: Callable[[], Any] | None = None, renew: Callable[[], Any] | None = None,
                 lease_time: int = 30, t1: int | None = None, t2: int | None = None,
                 only: Iterable[str] | str | None = None, skip: Iterable[str] | str | None = None,
                 timeout: float = 30.0, progress: bool = True, mac: str | None = None, wait: float | None = None,
                 slow: bool = False, inform: Callable[[], Any] | None = None, **serve_kw: Any) -> CheckReport:
    """Runs the client checks (``only`` some, less ``skip``) against the DHCP
    client ``device_mac`` (default: the first that sends a DISCOVER), as its server
    on the session's interface, and returns the report. ``lease_time``,
    ``t1`` and ``t2`` (default a third and two thirds of it) are the lease it
    lives through; ``restart`` starts the device over when a phase needs it (and
    shows its INIT-REBOOT); ``release`` makes it give its lease back, last; ``renew``
    makes it renew now (else part three waits for its T1); ``slow`` runs the check
    that takes two minutes more (a REQUEST nobody answers); ``inform`` has it send a
    DHCPINFORM (a board with a static address), last;
    ``timeout`` bounds each wait for the device. Ctrl-C returns what was done.

    >>> r = check_client(restart=lab.clients[0].restart); r.failed; r.to_junit("client.xml")
    """
    mac = old_keyword("check_client", "mac", "device_mac", mac, device_mac)
    wait = old_keyword("check_client", "wait", "timeout", wait, timeout)
    checks = select_checks(CLIENT_CHECKS, only, skip)
    t1 = t1 if t1 is not None else lease_time // 3
    t2 = t2 if t2 is not None else lease_time * 2 // 3
    if not 0 < t1 < t2 < lease_time:
        raise UsageError(f"need 0 < t1 < t2 < lease_time, got {t1}, {t2}, {lease_time}")
    running = session.server is not None and session.server.running
    if running:
        raise UsageError("check_client() plays the server itself: stop the running one first (srv.stop())")
    probes: list[ClientProbe] = []

    def attach(server: Any) -> None:   # before the server reads a request: none is answered unseen
        probes.append(ClientProbe(session, server, mac=mac, restart=restart, lease_time=lease_time, t1=t1, t2=t2,
                                  wait=wait, decline=any(c.id == "declines-address-in-use" for c in checks),
                                  release=release, renew=renew, slow=slow, inform=inform))

    server = session.serve(lease_time=lease_time, t1=t1, t2=t2, before_start=attach, **serve_kw)
    probe = probes[0]
    report = CheckReport("client", mac or "?")
    try:
        run_checks(report, checks, probe, progress=progress)
    finally:
        server.stop()
        server.detach()
        for address in probe.in_use:
            session.transport.forget_arp(address)
    report.target = mac_str(probe.target) if probe.target else report.target
    session.last = report
    return report


__all__ = ["CLIENT_CHECKS", "ClientProbe", "check_client"]
