"""The client checks of part two (workloads/client_checks4_fields.py) without a network:
a client's life as frames built by the project's own builders (a DORA after unanswered
DISCOVERs, a DECLINE of an address in use, renewals, rebinds), put where check_client()'s
phases would have recorded them. Each check passes on the RFC-keeping life, and fails
(warns, for a SHOULD) when the one message its rule is about is changed to break it."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from scapy_dhcp_ext.wire import (
    ARP_REQUEST,
    BOOTP_AT,
    DECLINE,
    DISCOVER,
    IP_SRC,
    REQUEST,
    Bootp,
    arp_frame,
    ip_bytes,
    mac_bytes,
    patch_checksums,
)
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from scapy_dhcp_ext.workloads import client_checks4_fields
from scapy_dhcp_ext.workloads.checks import CheckReport, run_checks
from scapy_dhcp_ext.workloads.client_probe4 import ClientProbe, Phase
from scapy_dhcp_ext.workloads.liveness import Liveness

MAC = "02:00:00:00:00:0a"
SERVER, IN_USE, ADDRESS = "10.9.0.1", "10.9.0.50", "10.9.0.51"
IDS = [c.id for c in client_checks4_fields.CHECKS]


def message(kind: int, at: float, *, xid: int, edit=None, **kw):
    opts = kw.pop("opts", MessageOptions(broadcast=True, options=[(57, b"\x05\xdc")]))
    raw = bytearray(build_message(kind, mac=MAC, xid=xid, opts=opts, **kw))
    if edit is not None:
        edit(raw)
        patch_checksums(raw)
    return parse_frame(bytes(raw), at)


def life(edits: dict, *, decline_pause: float = 10.5, xid_step: int = 0x5A17C3, clock_from_probes: bool = False,
         announce: float = 8.0, renews_after: float = 10.0):
    """(probe, phases): a client that DISCOVERs at 0, 4, 12 s, REQUESTs IN_USE, probes it, finds it in
    use, DECLINEs, waits, DORAs ADDRESS, probes and announces it, renews at T1 (10 s) and rebinds at T2."""
    e = edits.get
    t0 = 1000.0
    x1, x2 = 0x1234ABCD, (0x1234ABCD + xid_step) & 0xFFFFFFFF
    discovers = [message(DISCOVER, t0 + at, xid=x1, edit=e("discover"), secs=int(at)) for at in (0, 4, 12)]
    first_req = message(REQUEST, t0 + 12.1, xid=x1, requested=IN_USE, server_id=SERVER)
    decline_at = t0 + 14.0
    decline = message(DECLINE, decline_at, xid=x1, edit=e("decline"), requested=IN_USE, server_id=SERVER,
                      opts=MessageOptions(param_req_list=None))
    again = decline_at + decline_pause
    d2 = message(DISCOVER, again, xid=x2, edit=e("discover"))
    req = message(REQUEST, again + 0.1, xid=x2, edit=e("selecting"), requested=ADDRESS, server_id=SERVER)
    bound = again + 0.11
    # A client that announces starts its clock then; one that does not, ANNOUNCE_WAIT after its last probe.
    ended = bound + (4.0 if "no-announce" in edits else announce)
    start = ended if clock_from_probes else req.time
    renew = message(REQUEST, start + renews_after, xid=x2 + 1, edit=e("renewing"), ciaddr=ADDRESS, dst_ip=SERVER,
                    opts=MessageOptions())
    rebind = message(REQUEST, start + 20, xid=x2 + 2, edit=e("rebinding"), ciaddr=ADDRESS, opts=MessageOptions())
    timeline = [*discovers, first_req, decline, d2, req, renew, rebind]

    now = [0.0]
    seen = Liveness(mac_bytes(MAC), clock=lambda: now[0])
    for at, address, is_announce in ((12.5, IN_USE, False), (13.5, IN_USE, False), (bound + 0.5, ADDRESS, False),
                                     (bound + 2.0, ADDRESS, False), (bound + announce, ADDRESS, True)):
        now[0] = at if at > t0 else t0 + at
        spa = ip_bytes(address) if is_announce else bytes(4)
        if "no-probes" not in edits and not (is_announce and "no-announce" in edits):
            seen.feed(arp_frame(ARP_REQUEST, sha=mac_bytes(MAC), spa=spa, tha=bytes(6), tpa=ip_bytes(address)))

    if "probes-later" in edits:   # given the address again after the lease (a later phase), it probes again
        now[0] = renew.time + 5
        seen.feed(arp_frame(ARP_REQUEST, sha=mac_bytes(MAC), spa=bytes(4), tha=bytes(6), tpa=ip_bytes(ADDRESS)))

    ack = SimpleNamespace(yiaddr=ADDRESS)
    phases = {
        "silence": Phase("silence", t0, t0 + 12, facts={"discovers": discovers}),
        "bind": Phase("bind", t0 + 12, bound, facts={"in_use": IN_USE, "decline": None if "no-decline" in edits
                                                    else decline, "ack": ack, "bound_at": bound}),
        "life": Phase("life", bound, bound + 31.5, facts={"expired_at": bound + 30, "still_answers": False}),
    }
    if "no-decline" in edits:
        timeline.remove(decline)
    probe = object.__new__(ClientProbe)
    probe.phases, probe.timeline, probe.sent, probe.life = phases, timeline, [], seen
    probe.cond = threading.Condition()
    probe.t1, probe.t2, probe.lease_time = 10, 20, 30
    probe.server = SimpleNamespace(pool=SimpleNamespace(server_ip=SERVER))
    probe.session = SimpleNamespace(transport=SimpleNamespace(link_mtu=lambda: 1500))
    return probe


def judged(probe, *ids: str, catalog=None) -> dict:
    """{check id: (verdict, why)} of the checks ``ids`` (all of part two, or of ``catalog``) on ``probe``."""
    checks = [c for c in (catalog or client_checks4_fields.CHECKS) if not ids or c.id in ids]
    report = run_checks(CheckReport("client", MAC), checks, probe, progress=False)
    return {r.id: (r.verdict, r.why) for r in report.rows}


def test_every_check_passes_on_a_client_that_keeps_the_rfcs():
    got = judged(life({}))
    assert len(got) == len(IDS) >= 33 and {k: v for k, v in got.items() if v[0] != "pass"} == {}


def at(offset: int, value: bytes):
    def edit(raw: bytearray) -> None:
        raw[BOOTP_AT + offset:BOOTP_AT + offset + len(value)] = value
    return edit


def ip_src(address: str):
    return lambda raw: raw.__setitem__(slice(IP_SRC, IP_SRC + 4), ip_bytes(address))


def ip_dst(address: str):
    return lambda raw: raw.__setitem__(slice(IP_SRC + 4, IP_SRC + 8), ip_bytes(address))


def append(code: int, value: bytes):
    """Option ``code`` put in place of the END, END after it (the frame's padding holds it)."""
    def edit(raw: bytearray) -> None:
        end = BOOTP_AT + 240
        while raw[end] != 255:
            end += 1 if raw[end] == 0 else 2 + raw[end + 1]
        raw[end:end + 3 + len(value)] = bytes([code, len(value)]) + value + b"\xff"
    return edit


def overwrite(code: int, value: bytes):
    def edit(raw: bytearray) -> None:
        i = BOOTP_AT + 240
        while raw[i] != code:
            i += 1 if raw[i] == 0 else 2 + raw[i + 1]
        raw[i + 2:i + 2 + len(value)] = value
    return edit


def drop(code: int):
    def edit(raw: bytearray) -> None:
        i = BOOTP_AT + 240
        while raw[i] != code:
            i += 1 if raw[i] == 0 else 2 + raw[i + 1]
        raw[i:i + 2 + raw[i + 1]] = bytes(2 + raw[i + 1])
    return edit


def ports(sport: int):
    return lambda raw: raw.__setitem__(slice(34, 36), sport.to_bytes(2, "big"))


BREAKS = {
    "hops-zero": at(Bootp.HOPS, b"\x01"),
    "yiaddr-zero": at(Bootp.YIADDR, ip_bytes("10.9.0.7")),
    "siaddr-zero": at(Bootp.SIADDR, ip_bytes("10.9.0.7")),
    "giaddr-zero": at(Bootp.GIADDR, ip_bytes("10.9.0.7")),
    "ciaddr-zero": at(Bootp.CIADDR, ip_bytes("10.9.0.7")),
    "chaddr-is-source": lambda raw: raw.__setitem__(slice(6, 12), b"\x02\x00\x00\x00\x00\x0b"),
    "flags-reserved-zero": at(Bootp.FLAGS, b"\x80\x01"),
    "no-server-id": append(54, ip_bytes(SERVER)),
    "no-message": append(56, b"hello"),
    "ip-source-zero": ip_src("10.9.0.7"),
    "ip-dest-broadcast": ip_dst(SERVER),
    "udp-ports": ports(1068),
    "ip-source-is-ciaddr": ip_src("10.9.0.7"),
    "ciaddr-is-address": at(Bootp.CIADDR, ip_bytes("10.9.0.7")),
    "no-requested-or-server-id": append(54, ip_bytes(SERVER)),
    "has-server-id": drop(54),
    "has-requested-address": drop(50),
    "secs-zero": at(Bootp.SECS, b"\x00\x03"),
    "flags-zero": at(Bootp.FLAGS, b"\x80\x00"),
    "only-allowed-options": append(55, b"\x01\x03"),
}
SCENARIO = {   # the checks about a client's whole life: what breaks each
    "decline-then-waits-10s": dict(decline_pause=3.0),
    "xids-unpredictable": dict(xid_step=1),
    "lease-clock-from-request": dict(clock_from_probes=True),
    "arp-probes-before-use": {"edits": {"no-probes": True}},
}


@pytest.mark.parametrize("check_id", IDS)
def test_a_check_fails_when_the_message_its_rule_is_about_breaks_it(check_id):
    level = next(c.level for c in client_checks4_fields.CHECKS if c.id == check_id)
    want = "fail" if level == "MUST" else "warn"
    if check_id == "max-message-size-valid":
        probe = life({"discover": overwrite(57, b"\x01\x00")})   # 256: below 576
    elif check_id in SCENARIO:
        kw = dict(SCENARIO[check_id])
        probe = life(kw.pop("edits", {}), **kw)
    else:
        state, rule = check_id.split("-", 1)
        probe = life({state: BREAKS[rule]})
    verdict, why = judged(probe, check_id)[check_id]
    assert verdict == want, (verdict, why)
    if check_id == "lease-clock-from-request":
        assert "its clock started when its ARP probing ended" in why, why


def test_a_client_that_never_declines_leaves_the_decline_checks_not_applicable():
    got = judged(life({"no-decline": True}))
    assert {k for k, v in got.items() if v[0] == "n/a"} == {c for c in IDS if c.startswith("decline-")}


def test_the_decline_check_names_a_missing_server_identifier():
    """An embedded stack's DECLINE without option 54 (RFC 2131 table 5: MUST)."""
    verdict, why = judged(life({"decline": drop(54)}), "decline-has-server-id")["decline-has-server-id"]
    assert verdict == "fail" and why == f"option 54 is missing; the server was {SERVER}"


def test_a_renewal_that_two_readings_explain_is_inconclusive_not_a_guess():
    """Announced 5 s after the ACK and renewed 15 s after the REQUEST: T1 (10 s) from the end of its
    probing, or half the 30 s lease from its REQUEST. The check does not pick one."""
    verdict, why = judged(life({}, clock_from_probes=True, announce=5.0),
                          "lease-clock-from-request")["lease-clock-from-request"]
    assert verdict == "inconclusive" and "tells them apart" in why, why


def test_a_client_that_probes_without_announcing_is_named_from_its_last_probe():
    """BusyBox udhcpc -a: one ARP probe after the ACK, no announcement; its clock starts when its
    wait for a reply ends (RFC 5227's ANNOUNCE_WAIT after the probe), half the lease before its renewal."""
    probe = life({"no-announce": True, "probes-later": True}, clock_from_probes=True,
                 renews_after=15.0)   # it ignores option 58
    verdict, why = judged(probe, "lease-clock-from-request")["lease-clock-from-request"]
    assert verdict == "fail" and "its clock started when its ARP probing ended" in why, why
