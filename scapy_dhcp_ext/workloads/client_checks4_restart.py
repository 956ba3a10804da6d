"""Client checks, part four (registered last), after everything else. From a restart
(``restart=``): a REQUEST nobody answers (RFC 2131 4.4.1: retransmitted, then back to INIT;
slow, only with ``slow=True``), and option 108, IPv6-Only Preferred (RFC 8925 3.2), to a
client that asks for it. With ``inform=``: its DHCPINFORM against RFC 2131 table 5. The
phases are :mod:`.client_phases4_restart`'s.
"""

from __future__ import annotations

from typing import Any, Callable

from ..wire import BROADCAST_IP, ZERO_IP
from ..wire.frames4 import Frame
from .checks import MUST, SHOULD, Check, NoEvidence, Outcome, broken, catalog, met, not_applicable
from .client_checks4_fields import (
    NotApplicable,
    chaddr_is_source,
    flags_reserved_zero,
    hops_zero,
    ip_source_is_ciaddr,
    judge_state,
    udp_ports,
    without,
    zero,
)
from .client_phases4_restart import RETRIES_WINDOW, V6ONLY_WAIT, inform_phase, retries_phase, v6only_phase
from .client_probe4 import ClientProbe

CHECKS: list[Check] = []
client_check = catalog(CHECKS)


@client_check("request-unanswered-back-to-init", "2131 4.4.1", SHOULD,
              "its REQUEST for an OFFER, never answered, is retransmitted, and then it starts over with a DISCOVER "
              f"(watched {RETRIES_WINDOW:.0f} s: 4.1's back-off of 4, 8, 16, 32, 64 s; slow: slow=True)")
def request_unanswered_back_to_init(t: ClientProbe) -> Any:
    if not t.slow:
        return not_applicable(f"slow (about {RETRIES_WINDOW + 10:.0f} s): give slow=True")
    f = retries_phase(t).facts
    first, requests, back = f["first"], f["requests"], f["back"]
    gaps = ", ".join(f"{b.time - a.time:.1f}" for a, b in zip(requests, requests[1:])) or "none"
    told = f"{len(requests)} REQUESTs (gaps {gaps} s)"
    if back is None:
        return broken(f"{told}, and no DISCOVER within {RETRIES_WINDOW:.0f} s: it asks the silent server for ever "
                      "(4.4.1: back to INIT once its retransmissions run out)")
    if len(requests) < 2:
        return broken(f"its DISCOVER came {back.time - first.time:.1f} s after a single REQUEST: "
                      "no retransmission (4.1)")
    return met(f"{told}, then a DISCOVER {back.time - first.time:.1f} s after the first")


def _asked(judge: Callable[[dict[str, Any]], Any]) -> Callable[[ClientProbe], Any]:
    """A v6only check: n/a for a client that does not ask for option 108, else ``judge`` of the phase's facts."""
    def run(t: ClientProbe) -> Any:
        f = v6only_phase(t).facts
        return judge(f) if f["asked"] else not_applicable("it does not ask for option 108 (its option 55)")
    return run


@client_check("v6only-wrong-length-ignored", "8925 3.2", MUST,
              "to a client that asks for option 108, an OFFER whose option 108 is 2 bytes long (not 4) is taken "
              "as if it had none: it REQUESTs it")
@_asked
def v6only_wrong_length_ignored(f: dict[str, Any]) -> Any:
    got, window = f["short_next"], f["short_window"]
    if got is None:
        return broken(f"no REQUEST within {window:.0f} s of an OFFER whose option 108 was 2 bytes long: it acted on "
                      "a malformed option (or dropped the OFFER)")
    return met(f"its REQUEST came {got.time - f['short'][0]:.1f} s after that OFFER")


@client_check("v6only-offer-not-requested", "8925 3.2", MUST,
              f"to a client that asks for option 108, an OFFER with it ({V6ONLY_WAIT} s) is not REQUESTed")
@_asked
def v6only_offer_not_requested(f: dict[str, Any]) -> Any:
    got = f["wait_request"]
    if got is not None and got.requested == f["wait"][1]:
        return broken(f"it REQUESTed {got.requested} {got.time - f['wait'][0]:.1f} s after an OFFER that said "
                      "IPv6-only preferred")
    return met(f"no REQUEST for {f['wait'][1]} within {f['wait_window']:.0f} s of the OFFER")


@client_check("v6only-wait-honoured", "8925 3.2", SHOULD,
              f"after an OFFER with option 108 ({V6ONLY_WAIT} s, V6ONLY_WAIT) it stays off DHCPv4: no DISCOVER or "
              "REQUEST in the seconds watched")
@_asked
def v6only_wait_honoured(f: dict[str, Any]) -> Any:
    got, window = f["wait_next"], f["wait_window"]
    if got is not None:
        return broken(f"its {got.type_name} came {got.time - f['wait'][0]:.1f} s after the OFFER "
                      f"(V6ONLY_WAIT {V6ONLY_WAIT} s)")
    return met(f"no DHCPv4 message in the {window:.0f} s watched (of {V6ONLY_WAIT}): a restart ended the wait")


def the_inform(t: ClientProbe) -> list[Frame]:
    if t.inform is None:
        raise NotApplicable("a device with a static address INFORMs: give inform= (a callable that makes it send "
                            "a DHCPINFORM; the lab's dhcpcd has one)")
    return [inform_phase(t).facts["inform"]]


def inform_ciaddr(f: Frame, t: ClientProbe) -> Outcome:
    if f.ciaddr == ZERO_IP:
        return broken("ciaddr 0.0.0.0: it names no address")
    if not inform_phase(t).facts["answers_arp"]:
        raise NoEvidence(f"ciaddr {f.ciaddr}, but it answers no ARP for it: whether it has that address is unknown")
    return met(f"ciaddr {f.ciaddr}, which it answers ARP for")


def inform_destination(f: Frame, t: ClientProbe) -> Outcome:
    if f.ip_dst in (BROADCAST_IP, t.server.pool.server_ip):
        return met(f"to {f.ip_dst}")
    return broken(f"to {f.ip_dst}: neither the server nor broadcast")


TABLE5 = "2131 table 5"
for _suffix, _rfc, _level, _rule, _fn in [
    ("ciaddr-is-address", TABLE5, MUST, "ciaddr is its address (it answers ARP for it)", inform_ciaddr),
    ("no-requested-address", TABLE5, MUST, "no option 50", without(50)),
    ("no-lease-time", TABLE5, MUST, "no option 51 (it asks for no lease)", without(51)),
    ("no-server-id", TABLE5, MUST, "no option 54", without(54)),
    ("yiaddr-zero", TABLE5, MUST, "yiaddr is 0", zero("yiaddr")),
    ("siaddr-zero", TABLE5, MUST, "siaddr is 0", zero("siaddr")),
    ("giaddr-zero", TABLE5, MUST, "giaddr is 0", zero("giaddr")),
    ("hops-zero", TABLE5, MUST, "hops is 0", hops_zero),
    ("chaddr-is-source", "2131 2", SHOULD, "chaddr is the MAC it sends from", chaddr_is_source),
    ("flags-reserved-zero", "2131 2", MUST, "the flags' 15 reserved bits are 0", flags_reserved_zero),
    ("ip-source-is-ciaddr", "2131 4.1", SHOULD, "sent from the address it names", ip_source_is_ciaddr),
    ("ip-dest", "2131 4.4.3", SHOULD, "to the server or broadcast", inform_destination),
    ("udp-ports", "2131 4.1", MUST, "sent from port 68 to port 67", udp_ports),
]:
    client_check(f"inform-{_suffix}", _rfc, _level, f"DHCPINFORM (inform=): {_rule}")(
        judge_state("inform", _fn, the_inform))
