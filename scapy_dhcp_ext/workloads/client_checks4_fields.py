"""Client checks, part two: every message the client sent, in every state the
checks took it through, against RFC 2131 table 5 and 4.1 (the fields, the
options, the IP and UDP addressing), one check per state and rule
(``discover-hops-zero``, ``renewing-ip-source-is-ciaddr``, ``decline-has-server-id``);
then the DECLINE's pause, its xids' randomness, its lease clock, its ARP probing
(RFC 5227) and its option 57. Registered after :mod:`.client_checks4`.

A rule is a function of one message (and what the state expects of it) that
returns its outcome; a check applies it to every message of its state and
reports the first that breaks it. Rules that only a malformed message breaks (op,
htype, hlen, the cookie, the checksums, END) are not here: the server reads such
a message as malformed and never as the client's (``srv.log`` keeps it).
"""

from __future__ import annotations

from typing import Any, Callable

from ..wire import BROADCAST_FLAG, BROADCAST_IP, DISCOVER, REQUEST, ZERO_IP, mac_str
from ..wire.frames4 import Frame
from .checks import MUST, SHOULD, Check, NoEvidence, Outcome, broken, catalog, met, not_applicable, unsure
from .client_facts4 import first_request, selecting_request
from .client_probe4 import ClientProbe, bind_phase, life_phase, silence_phase
from .liveness import ANNOUNCE_WAIT

CHECKS: list[Check] = []
client_check = catalog(CHECKS)

Rule = Callable[[Frame, ClientProbe], Outcome]
DECLINE_ALLOWED = {50, 52, 53, 54, 56, 61}   # table 5: the rest MUST NOT be in a DECLINE


# -- the messages of each state -------------------------------------------------------------------

def messages(t: ClientProbe, state: str) -> list[Frame]:
    if state == "discover":
        found = silence_phase(t).facts["discovers"]
    elif state == "selecting":
        found = [selecting_request(t)]
    elif state == "decline":
        declined = bind_phase(t).facts["decline"]
        if declined is None:
            raise NotApplicable("the client sent no DECLINE (it did not probe the address, or found it free)")
        found = [declined]
    else:
        life = life_phase(t)
        bound_at = bind_phase(t).facts["bound_at"]
        lease = [f for f in t.timeline if bound_at < f.time <= life.facts["expired_at"]
                 and f.message_type == REQUEST and f.ciaddr != ZERO_IP]
        found = [f for f in lease if (f.ip_dst == BROADCAST_IP) == (state == "rebinding")]
    if not found:
        raise NoEvidence(f"the client sent no {state.upper() if state == 'discover' else state} message")
    return found


class NotApplicable(Exception):
    """A state the client never entered: the checks of its messages are n/a (raised by a finder)."""


# -- the rules ----------------------------------------------------------------------------------------

def zero(name: str) -> Rule:
    def rule(f: Frame, _t: ClientProbe) -> Outcome:
        value = getattr(f, name)
        return met(f"{name} 0.0.0.0") if value == ZERO_IP else broken(f"{name} {value}")
    return rule


def hops_zero(f: Frame, _t: ClientProbe) -> Outcome:
    return met("hops 0") if f.raw[45] == 0 else broken(f"hops {f.raw[45]}")


def chaddr_is_source(f: Frame, _t: ClientProbe) -> Outcome:
    return met(f"chaddr {mac_str(f.chaddr)}, its Ethernet source") if f.chaddr == f.eth_src else broken(
        f"chaddr {mac_str(f.chaddr)}, sent from {mac_str(f.eth_src)}")


def flags_reserved_zero(f: Frame, _t: ClientProbe) -> Outcome:
    rest = f.flags & ~BROADCAST_FLAG & 0xFFFF
    return met(f"flags {f.flags:#06x}") if not rest else broken(f"flags {f.flags:#06x}: reserved bits set")


def without(*codes: int) -> Rule:
    def rule(f: Frame, _t: ClientProbe) -> Outcome:
        found = [c for c in codes if c in f.options]
        return broken(f"it carries option {', '.join(map(str, found))}") if found else met(
            f"no option {' or '.join(map(str, codes))}")
    return rule


def ip_dst(want: str) -> Rule:
    def rule(f: Frame, _t: ClientProbe) -> Outcome:
        return met(f"to {f.ip_dst}") if f.ip_dst == want else broken(f"to {f.ip_dst}, not {want}")
    return rule


def ip_source_zero(f: Frame, _t: ClientProbe) -> Outcome:
    return met("from 0.0.0.0") if f.ip_src == ZERO_IP else broken(
        f"from {f.ip_src}, before it holds an address")


def ip_source_is_ciaddr(f: Frame, _t: ClientProbe) -> Outcome:
    return met(f"from {f.ip_src}, its ciaddr") if f.ip_src == f.ciaddr else broken(
        f"from {f.ip_src}; ciaddr is {f.ciaddr}")


def ciaddr_is_address(f: Frame, t: ClientProbe) -> Outcome:
    held = bind_phase(t).facts["ack"].yiaddr
    return met(f"ciaddr {f.ciaddr}, its address") if f.ciaddr == held else broken(
        f"ciaddr {f.ciaddr}; it holds {held}")


def udp_ports(f: Frame, _t: ClientProbe) -> Outcome:
    return met("from port 68 to 67") if (f.sport, f.dport) == (68, 67) else broken(
        f"from port {f.sport} to {f.dport}")


def has_server_id(f: Frame, t: ClientProbe) -> Outcome:
    ours = t.server.pool.server_ip
    return met(f"option 54 {f.server_id}") if f.server_id == ours else broken(
        f"option 54 is {f.server_id or 'missing'}; the server was {ours}")


def has_requested_address(f: Frame, t: ClientProbe) -> Outcome:
    declined = bind_phase(t).facts["in_use"]
    return met(f"option 50 {f.requested}, the address in use") if f.requested and f.requested == declined else broken(
        f"option 50 is {f.requested or 'missing'}; the address in use was {declined}")


def secs_zero(f: Frame, _t: ClientProbe) -> Outcome:
    secs = int.from_bytes(f.raw[50:52], "big")
    return met("secs 0") if secs == 0 else broken(f"secs {secs}")


def flags_zero(f: Frame, _t: ClientProbe) -> Outcome:
    return met("flags 0") if f.flags == 0 else broken(f"flags {f.flags:#06x}")


def only_options(allowed: set[int]) -> Rule:
    def rule(f: Frame, _t: ClientProbe) -> Outcome:
        extra = sorted(set(f.options) - allowed)
        return broken(f"it carries option {', '.join(map(str, extra))}") if extra else met(
            f"options {', '.join(map(str, f.option_order))} only")
    return rule


decline_options = only_options(DECLINE_ALLOWED)


TABLE5 = "2131 table 5"
ALL_REQUESTS = ("discover", "selecting", "renewing")
RULES: list[tuple[str, tuple[str, ...], str, str, str, Rule]] = [
    ("hops-zero", ALL_REQUESTS, TABLE5, MUST, "hops is 0", hops_zero),
    ("yiaddr-zero", ALL_REQUESTS, TABLE5, MUST, "yiaddr is 0", zero("yiaddr")),
    ("siaddr-zero", ("discover", "selecting"), TABLE5, MUST, "siaddr is 0", zero("siaddr")),
    ("giaddr-zero", ALL_REQUESTS, TABLE5, MUST, "giaddr is 0", zero("giaddr")),
    ("ciaddr-zero", ("discover", "decline"), TABLE5, MUST, "ciaddr is 0", zero("ciaddr")),
    ("chaddr-is-source", ("discover", "selecting"), "2131 2", SHOULD,
     "chaddr is the MAC it sends from", chaddr_is_source),
    ("flags-reserved-zero", ("discover", "selecting"), "2131 2", MUST,
     "the flags' 15 reserved bits are 0", flags_reserved_zero),
    ("no-server-id", ("discover",), TABLE5, MUST, "no option 54", without(54)),
    ("no-message", ("discover", "selecting"), TABLE5, SHOULD, "no option 56", without(56)),
    ("ip-source-zero", ("discover", "selecting"), "2131 4.1", MUST,
     "sent from 0.0.0.0 (it has no address yet)", ip_source_zero),
    ("ip-dest-broadcast", ("discover", "selecting"), "2131 4.1", MUST,
     "sent to 255.255.255.255", ip_dst(BROADCAST_IP)),
    ("udp-ports", ALL_REQUESTS + ("rebinding",), "2131 4.1", MUST, "sent from port 68 to port 67", udp_ports),
    ("ip-source-is-ciaddr", ("renewing", "rebinding"), "2131 4.1", SHOULD,
     "sent from the address it holds, its ciaddr", ip_source_is_ciaddr),
    ("ciaddr-is-address", ("rebinding",), TABLE5, MUST, "ciaddr is the address it holds", ciaddr_is_address),
    ("no-requested-or-server-id", ("rebinding",), TABLE5, MUST, "no option 50 or 54", without(50, 54)),
    ("has-server-id", ("decline",), TABLE5, MUST, "option 54 names the server", has_server_id),
    ("has-requested-address", ("decline",), TABLE5, MUST, "option 50 is the address declined",
     has_requested_address),
    ("secs-zero", ("decline",), TABLE5, MUST, "secs is 0", secs_zero),
    ("flags-zero", ("decline",), TABLE5, MUST, "flags is 0", flags_zero),
    ("only-allowed-options", ("decline",), TABLE5, MUST,
     "only options 50, 52, 53, 54, 56 and 61 (no 51, 55, 57, 60: MUST NOT)", decline_options),
]


def judge_state(state: str, rule: Rule,
                find: Callable[[ClientProbe], list[Frame]] | None = None) -> Callable[[ClientProbe], Any]:
    """A check that applies ``rule`` to every message of ``state`` (found by ``find``, by default
    :func:`messages`) and reports the first that breaks it."""
    def run(t: ClientProbe) -> Any:
        try:
            found = find(t) if find is not None else messages(t, state)
        except NotApplicable as exc:
            return not_applicable(str(exc))
        outcomes = [rule(f, t) for f in found]
        bad = next((o for o in outcomes if o.kind == "broken"), None)
        if bad is not None:
            return broken(bad.why + (f" (in 1 of {len(found)} messages)" if len(found) > 1 else ""))
        return met(outcomes[0].why + (f" (all {len(found)} messages)" if len(found) > 1 else ""))
    return run


for _suffix, _states, _rfc, _level, _rule, _fn in RULES:
    for _state in _states:
        client_check(f"{_state}-{_suffix}", _rfc, _level, f"{_state.upper()}: {_rule}")(judge_state(_state, _fn))


# -- the DECLINE's pause, xids, the lease clock, ARP probing, option 57 ---------------------------------

@client_check("decline-then-waits-10s", "2131 3.1", SHOULD,
              "after a DECLINE, the client waits at least 10 s before its next DISCOVER (step 5)")
def decline_then_waits(t: ClientProbe) -> Any:
    declined = bind_phase(t).facts["decline"]
    if declined is None:
        return not_applicable("the client sent no DECLINE")
    after = next((f for f in t.timeline if f.time > declined.time and f.message_type == DISCOVER), None)
    if after is None:
        raise NoEvidence("no DISCOVER after the DECLINE")
    pause = after.time - declined.time
    return met(f"DISCOVER {pause:.1f} s after the DECLINE") if pause >= 9.5 else broken(
        f"DISCOVER {pause:.1f} s after the DECLINE")


@client_check("xids-unpredictable", "2131 4.1", SHOULD,
              "each new transaction's xid is random: not the last one plus a small step")
def xids_unpredictable(t: ClientProbe) -> Any:
    bind_phase(t)
    xids = list(dict.fromkeys(f.xid for f in t.timeline if f.message_type == DISCOVER and f.xid is not None))
    if len(xids) < 2:
        return not_applicable("one transaction seen")
    steps = [(b - a) & 0xFFFFFFFF for a, b in zip(xids, xids[1:])]
    near = [s for s in steps if s < 0x10000 or s > 0xFFFF0000]
    return broken(f"xids {', '.join(f'{x:#010x}' for x in xids[:4])}: each close to the one before") if len(
        near) == len(steps) else met(f"{len(xids)} xids, {', '.join(f'{x:#010x}' for x in xids[:3])} ...")


@client_check("lease-clock-from-request", "2131 4.4.1", MUST,
              "T1 counts from when the REQUEST was sent, not from the ACK or the end of ARP probing")
def lease_clock_from_request(t: ClientProbe) -> Any:
    sent = selecting_request(t).time
    renewal, _at = first_request(t, lambda f: True)
    if renewal is None:
        raise NoEvidence("no renewal in the lease")
    after = renewal.time - sent
    if -1.5 <= after - t.t1 <= 2.0:
        return met(f"renewed {after:.1f} s after its REQUEST (T1 {t.t1} s)")
    address = bind_phase(t).facts["ack"].yiaddr
    # Its probing follows the REQUEST (and the ACK), and ends before the renewal (later phases give it
    # the address again, and it probes it again).
    probes = [x for x in t.life.probes(address, sent - 0.5) if x.t < renewal.time]
    used = t.life.holds(address, sent - 0.5)
    # Where its probing ended: RFC 5227's ANNOUNCE_WAIT after its last probe, or its announcement if sooner
    # (a client that does not announce is first seen using the address much later, at its renewal).
    ended = min(probes[-1].t + ANNOUNCE_WAIT, used.t if used is not None else float("inf")) if probes else None
    half = -1.5 <= after - t.lease_time / 2 <= 2.0   # it ignores option 58, counting from the REQUEST
    for base, what in ((t.t1, "T1"), (t.lease_time / 2, "half the lease (it ignores option 58)")):
        if ended is not None and ended > sent + 1.0 and abs(renewal.time - ended - base) <= 1.0:
            if half and base == t.t1:
                return unsure(f"renewed {after:.1f} s after its REQUEST: half the lease from its REQUEST, or T1 "
                              "from the end of its ARP probing; another t1= (check_client(t1=...)) tells them apart")
            return broken(f"renewed {after:.1f} s after its REQUEST, {what} after its ARP probing ended: "
                          f"its clock started when its ARP probing ended, {ended - sent:.1f} s after its REQUEST")
    if half:
        return met(f"renewed {after:.1f} s after its REQUEST: half the lease, counted from the REQUEST")
    arp = [x for x in t.life.after(sent - 0.5) if not x.dhcp and x.t < renewal.time]
    return broken(f"renewed {after:.1f} s after its REQUEST; T1 was {t.t1} s"
                  + (f" (after its REQUEST: {t.life.words(arp, sent)})" if arp else ""))


@client_check("arp-probes-before-use", "5227 2.1.1", SHOULD,
              "before it uses an address it was given, the client probes it with ARP")
def arp_probes_before_use(t: ClientProbe) -> Any:
    bind = bind_phase(t)
    first = bind.facts["in_use"] or bind.facts["ack"].yiaddr
    since = bind.start
    probed = [a for a in dict.fromkeys((first, bind.facts["ack"].yiaddr)) if t.life.probes(a, since)]
    if probed:
        n = len(t.life.probes(probed[0], since))
        return met(f"{n} ARP probes for {probed[0]} before use")
    return broken(f"no ARP probe for {first} (it took the address as given)")


@client_check("max-message-size-valid", "2132 9.10", MUST,
              "an option 57 the client sends is at least 576 and fits the link's MTU")
def max_message_size_valid(t: ClientProbe) -> Any:
    bind_phase(t)
    sizes = {int.from_bytes(f.options[57], "big") for f in t.timeline if len(f.options.get(57, b"")) == 2}
    if not sizes:
        return not_applicable("the client sends no option 57")
    try:
        mtu = t.session.transport.link_mtu()
    except OSError:
        mtu = 1500
    bad = [s for s in sorted(sizes) if not 576 <= s <= mtu]
    return broken(f"option 57 is {bad[0]}: not within 576 and the link's MTU {mtu}") if bad else met(
        f"option 57 {', '.join(map(str, sorted(sizes)))} (MTU {mtu})")
