"""Client checks, part three (registered after :mod:`.client_checks4_fields`): what the
client does with an infinite lease (RFC 2131 3.3), an unauthenticated FORCERENEW (RFC
3203), option 121 beside option 3 (RFC 3442); with ``restart=``, what it sends when it
starts over (its INIT-REBOOT against RFC 2131 table 5, its identity across the restart);
a FORCERENEW signed with the nonce it was given (RFC 6704); with ``release=``, its
RELEASE against table 5. The phases are :mod:`.client_phases4`'s.
"""

from __future__ import annotations

from typing import Any

from ..wire import BROADCAST_IP, mac_bytes, mac_str
from ..wire.frames4 import Frame
from .checks import MUST, SHOULD, Check, NoEvidence, Outcome, broken, catalog, met, not_applicable, unsure
from .client_checks4_fields import (
    NotApplicable,
    chaddr_is_source,
    flags_reserved_zero,
    flags_zero,
    has_server_id,
    hops_zero,
    ip_dst,
    ip_source_is_ciaddr,
    ip_source_zero,
    judge_state,
    only_options,
    secs_zero,
    udp_ports,
    without,
    zero,
)
from .client_phases4 import (
    OFF_LINK,
    OTHER_ROUTER_MAC,
    forcerenew_phase,
    infinite_phase,
    nonce_phase,
    reboot_phase,
    release_phase,
    routes_phase,
)
from .client_probe4 import ClientProbe

CHECKS: list[Check] = []
client_check = catalog(CHECKS)


@client_check("infinite-lease-kept", "2131 3.3", MUST,
              "a lease of 0xffffffff (infinity) with no T1 or T2: the client keeps the address and does not renew")
def infinite_lease_kept(t: ClientProbe) -> Any:
    f = infinite_phase(t).facts
    address, back = f["ack"].yiaddr, f["came_back"]
    if back is not None:
        return broken(f"its {back.type_name} came {back.time - f['acked_at']:.1f} s after an ACK of an infinite "
                      f"lease of {address}: it read 0xffffffff as a number of seconds")
    quiet = f["quiet_until"] - f["acked_at"]
    if not f["still_answers"]:
        return unsure(f"no renewal in {quiet:.0f} s, but no ARP answer for {address} either: it may have "
                      "dropped the address")
    return met(f"no renewal in {quiet:.0f} s after an infinite lease, and it still answers ARP for {address}")


@client_check("forcerenew-unauthenticated-ignored", "3203 (security)", MUST,
              "a FORCERENEW with no authentication (RFC 3118, RFC 6704) is ignored: no renewal follows it")
def forcerenew_unauthenticated_ignored(t: ClientProbe) -> Any:
    f = forcerenew_phase(t).facts
    came = _came(f)
    return met(f"no REQUEST within {f['window']:.1f} s of an unauthenticated FORCERENEW") if came is None else broken(
        f"{came} a FORCERENEW with no authentication: anyone on the link can make it renew")


def _came(f: dict[str, Any]) -> str | None:
    """What the client sent after a FORCERENEW phase's FORCERENEW, and when, in words."""
    req = f["request"]
    return None if req is None else f"its {req.type_name} came {req.time - f['sent_at']:.1f} s after"


@client_check("classless-routes-over-router", "3442", MUST,
              "with option 121 and option 3 in one ACK, the client routes by 121 and ignores 3")
def classless_routes_over_router(t: ClientProbe) -> Any:
    f = routes_phase(t).facts
    to = f.get("reply_to")
    if to is None:
        return not_applicable("it does not ask for option 121" if not f["asked"] else
                              f"it answered no ping from {OFF_LINK}: it has no default route to judge")
    if to == mac_bytes(OTHER_ROUTER_MAC):
        return met(f"its echo reply went through {f['router']}, option 121's default router")
    if to == f["ours"]:
        return broken("its echo reply went through option 3's router (ours), not option 121's "
                      f"({f['router']}): it took the Router option over the classless routes")
    return broken(f"its echo reply went to {mac_str(to)}: neither router")


def init_reboot_requests(t: ClientProbe) -> list[Frame]:
    found = reboot_phase(t).facts["init_reboot"]
    if not found:
        raise NotApplicable("after its restart it DISCOVERed: it does not ask for its old address back")
    return found


def the_release(t: ClientProbe) -> list[Frame]:
    gone = release_phase(t).facts["release"]
    if gone is None:
        raise NoEvidence("asked to release its lease, it sent no RELEASE")
    return [gone]


def server_unicast(f: Frame, t: ClientProbe) -> Outcome:
    return ip_dst(t.server.pool.server_ip)(f, t)


def requested_is_held(f: Frame, t: ClientProbe) -> Outcome:
    held = reboot_phase(t).facts["held"]
    return met(f"option 50 {f.requested}, the address it held") if f.requested and f.requested == held else broken(
        f"option 50 is {f.requested or 'missing'}; it held {held}")


INIT_REBOOT = "init-reboot"
TABLE5 = "2131 table 5"
for _suffix, _rfc, _level, _rule, _fn in [
    ("hops-zero", TABLE5, MUST, "hops is 0", hops_zero),
    ("yiaddr-zero", TABLE5, MUST, "yiaddr is 0", zero("yiaddr")),
    ("siaddr-zero", TABLE5, MUST, "siaddr is 0", zero("siaddr")),
    ("giaddr-zero", TABLE5, MUST, "giaddr is 0", zero("giaddr")),
    ("ciaddr-zero", TABLE5, MUST, "ciaddr is 0", zero("ciaddr")),
    ("has-requested-address", TABLE5, MUST, "option 50 is the address it held", requested_is_held),
    ("no-server-id", TABLE5, MUST, "no option 54", without(54)),
    ("chaddr-is-source", "2131 2", SHOULD, "chaddr is the MAC it sends from", chaddr_is_source),
    ("flags-reserved-zero", "2131 2", MUST, "the flags' 15 reserved bits are 0", flags_reserved_zero),
    ("ip-source-zero", "2131 4.1", MUST, "sent from 0.0.0.0 (the address is not its own again yet)", ip_source_zero),
    ("ip-dest-broadcast", "2131 4.4.2", MUST, "broadcast, to 255.255.255.255", ip_dst(BROADCAST_IP)),
    ("udp-ports", "2131 4.1", MUST, "sent from port 68 to port 67", udp_ports),
]:
    client_check(f"{INIT_REBOOT}-{_suffix}", _rfc, _level, f"INIT-REBOOT (after a restart): {_rule}")(
        judge_state(INIT_REBOOT, _fn, init_reboot_requests))


def _across_restart(t: ClientProbe, code: int, what: str) -> Any:
    f = reboot_phase(t).facts
    before, after = f["before"].options.get(code), f["first"].options.get(code)
    if before is None and after is None:
        return not_applicable(f"it sends no option {code}")
    if before == after:
        return met(f"option {code} {_show(after)} before and after the restart")
    return broken(f"its {what} was {_show(before)} before the restart, {_show(after)} after it")


def _show(value: bytes | None) -> str:
    if value is None:
        return "missing"
    return repr(value.decode()) if value.isascii() and value.decode().isprintable() else value.hex()


@client_check("client-id-stable-across-restart", "2131 4.2", SHOULD,
              "the same option 61 after a restart (the server finds its binding by it; RFC 4361 6.1: a DUID persists)")
def client_id_stable_across_restart(t: ClientProbe) -> Any:
    return _across_restart(t, 61, "client identifier")


@client_check("hostname-stable-across-restart", "2132 3.14", SHOULD,
              "the same option 12 after a restart (the name the network knows it by)")
def hostname_stable_across_restart(t: ClientProbe) -> Any:
    return _across_restart(t, 12, "host name")


@client_check("forcerenew-nonce-answered", "6704 3.4", MUST,
              "to a client that offered option 145, a FORCERENEW signed with the nonce of our ACK makes it renew")
def forcerenew_nonce_answered(t: ClientProbe) -> Any:
    f = nonce_phase(t).facts
    if not f["offered"]:
        return not_applicable("it offers no RFC 6704 nonce authentication (no option 145 listing HMAC-MD5)")
    came = _came(f)
    return met(f"{came} a FORCERENEW signed with its nonce") if came else broken(
        f"no REQUEST within {f['window']:.1f} s of a FORCERENEW signed with the nonce it was given")


def release_ciaddr(f: Frame, t: ClientProbe) -> Outcome:
    held = release_phase(t).facts["held"]
    return met(f"ciaddr {f.ciaddr}, the address it gives back") if f.ciaddr == held else broken(
        f"ciaddr {f.ciaddr}; it held {held}")


RELEASE_ALLOWED = {53, 54, 56, 61}   # table 5: 53 and 54 MUST, 56 and 61 MAY, every other MUST NOT
for _suffix, _rfc, _level, _rule, _fn in [
    ("ciaddr-is-address", TABLE5, MUST, "ciaddr is the address it gives back", release_ciaddr),
    ("has-server-id", TABLE5, MUST, "option 54 names the server", has_server_id),
    ("no-requested-address", TABLE5, MUST, "no option 50", without(50)),
    ("only-allowed-options", TABLE5, MUST, "only options 53, 54, 56 and 61 (no 50, 51, 55, 57, 60: MUST NOT)",
     only_options(RELEASE_ALLOWED)),
    ("hops-zero", TABLE5, MUST, "hops is 0", hops_zero),
    ("yiaddr-zero", TABLE5, MUST, "yiaddr is 0", zero("yiaddr")),
    ("siaddr-zero", TABLE5, MUST, "siaddr is 0", zero("siaddr")),
    ("giaddr-zero", TABLE5, MUST, "giaddr is 0", zero("giaddr")),
    ("secs-zero", TABLE5, MUST, "secs is 0", secs_zero),
    ("flags-zero", TABLE5, MUST, "flags is 0", flags_zero),
    ("ip-dest-is-server", "2131 4.4.6", SHOULD, "unicast to the server that gave the lease", server_unicast),
    ("ip-source-is-ciaddr", "2131 4.1", SHOULD, "sent from the address it gives back", ip_source_is_ciaddr),
    ("udp-ports", "2131 4.1", MUST, "sent from port 68 to port 67", udp_ports),
]:
    client_check(f"release-{_suffix}", _rfc, _level, f"RELEASE (release=): {_rule}")(
        judge_state("release", _fn, the_release))


__all__ = ["CHECKS"]
