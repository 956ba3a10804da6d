"""The client checks of part three (workloads/client_checks4_more.py) without a network:
the phases' records (an infinite lease, a FORCERENEW, a restart) built from the project's
own frames, as test_client_fields does for part two. Each check passes on the client that
keeps its rule and fails (warns, for a SHOULD) on one that breaks it; the ACK rewrite the
infinite phase sends is read back by the project's parser."""

from __future__ import annotations

import ipaddress

import pytest

from scapy_dhcp_ext.wire import ACK, DISCOVER, RELEASE, REQUEST, ip_bytes, mac_bytes
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions
from scapy_dhcp_ext.wire.replies4 import ReplyOptions, build_reply
from scapy_dhcp_ext.workloads import client_checks4_more
from scapy_dhcp_ext.workloads.client_phases4 import INFINITE, OTHER_ROUTER_MAC, with_lease
from scapy_dhcp_ext.workloads.client_probe4 import Phase
from tests.test_client_fields import ADDRESS, BREAKS, MAC, SERVER, append, drop, ip_dst, life, message
from tests.test_client_fields import judged as judged_in

IDS = [c.id for c in client_checks4_more.CHECKS]
OPTS = ReplyOptions.build(server_ip=SERVER, network=ipaddress.IPv4Network("10.9.0.0/24"), lease_time=30)


def ack_for(req):
    return build_reply(req, ACK, OPTS, server_mac=mac_bytes("02:00:00:00:00:01"), server_ip=SERVER, yiaddr=ADDRESS)


OURS = mac_bytes("02:00:00:00:00:01")


def probe_of(*, came_back=False, still_answers=True, renews_on_forcerenew=False, first=None, after_restart=None,
             before_opts=None, routes=None, nonce=None, release_edit=None, released=True):
    """A client bound to ADDRESS (test_client_fields' life), then the three phases of part three."""
    t = life({})
    t.restart = lambda: None
    renewal = message(REQUEST, 1100.0, xid=7, ciaddr=ADDRESS, dst_ip=SERVER, opts=MessageOptions())
    acked = 1100.01
    ack = parse_frame(with_lease(ack_for(renewal), INFINITE), acked)
    back = message(REQUEST, acked + 1.0, xid=8, ciaddr=ADDRESS, dst_ip=SERVER) if came_back else None
    t.phases["infinite"] = Phase("infinite", 1099.0, acked + 13.0, facts=dict(
        renewal=renewal, acked_at=acked, ack=ack, quiet_until=acked + 13.0, came_back=back,
        still_answers=still_answers))
    sent_at = acked + 13.5
    forced = message(REQUEST, sent_at + 0.4, xid=9, ciaddr=ADDRESS, dst_ip=SERVER) if renews_on_forcerenew else None
    t.phases["forcerenew"] = Phase("forcerenew", acked + 13.0, sent_at + 3.5,
                                   facts=dict(sent_at=sent_at, request=forced, window=3.5))
    t.phases["routes"] = Phase("routes", sent_at + 3.5, sent_at + 4.0, facts=routes or dict(
        asked=True, reply_to=mac_bytes(OTHER_ROUTER_MAC), router="10.9.0.252", ours=OURS))
    t.phases["nonce"] = Phase("nonce", sent_at + 4.0, sent_at + 7.5, facts=nonce or dict(
        offered=True, sent_at=sent_at + 4.0, window=3.5,
        request=message(REQUEST, sent_at + 4.1, xid=9, ciaddr=ADDRESS, dst_ip=SERVER)))
    t.release = lambda: None
    gone = message(RELEASE, sent_at + 12.0, xid=11, ciaddr=ADDRESS, server_id=SERVER, dst_ip=SERVER,
                   opts=MessageOptions(param_req_list=None), edit=release_edit) if released else None
    t.phases["release"] = Phase("release", sent_at + 11.0, sent_at + 12.5,
                                facts=dict(held=ADDRESS, release=gone))
    t.sent.append((acked, ack_for(renewal)))
    before = message(REQUEST, 1100.0, xid=7, ciaddr=ADDRESS, dst_ip=SERVER,
                     opts=before_opts or MessageOptions(options=[(61, b"\x01" + mac_bytes(MAC)), (12, b"board")]))
    start = sent_at + 4.0
    first = first if first is not None else message(
        REQUEST, start + 1.0, xid=10, requested=ADDRESS,
        opts=MessageOptions(broadcast=False, options=[(61, b"\x01" + mac_bytes(MAC)), (12, b"board")]),
        edit=after_restart)
    timeline = [first] if first.message_type == DISCOVER else [first, message(
        REQUEST, start + 5.0, xid=10, requested=ADDRESS, opts=MessageOptions(broadcast=False))]
    t.timeline += [x for x in (back, forced) if x is not None] + timeline
    t.phases["reboot"] = Phase("reboot", start, start + 6.0, facts=dict(
        held=ADDRESS, before=before, first=first, init_reboot=[] if first.message_type == DISCOVER else timeline))
    return t


def judged(probe, *ids: str) -> dict:
    return judged_in(probe, *ids, catalog=client_checks4_more.CHECKS)


def test_every_check_passes_on_a_client_that_keeps_the_rfcs():
    got = judged(probe_of())
    assert len(got) == len(IDS) >= 16 and {k: v for k, v in got.items() if v[0] != "pass"} == {}


def test_the_infinite_ack_reads_back_as_infinity_with_no_t1_or_t2():
    renewal = message(REQUEST, 1.0, xid=7, ciaddr=ADDRESS, dst_ip=SERVER, opts=MessageOptions())
    plain = parse_frame(ack_for(renewal))
    got = parse_frame(with_lease(ack_for(renewal), INFINITE))
    assert got.options[51] == b"\xff\xff\xff\xff" and 58 not in got.options and 59 not in got.options
    assert got.yiaddr == ADDRESS and got.server_id == SERVER
    assert not [p for p in got.problems if "checksum" in p]
    assert {c: v for c, v in got.options.items() if c not in (51, 58, 59)} == {
        c: v for c, v in plain.options.items() if c not in (51, 58, 59)}
    long = parse_frame(with_lease(ack_for(renewal), 600, 300, 525))
    assert (long.options[51], long.options[58], long.options[59]) == tuple(
        v.to_bytes(4, "big") for v in (600, 300, 525))


def test_a_client_that_renews_an_infinite_lease_fails_and_one_that_drops_it_is_not_passed():
    verdict, why = judged(probe_of(came_back=True), "infinite-lease-kept")["infinite-lease-kept"]
    assert verdict == "fail" and "read 0xffffffff as a number" in why, why
    verdict, why = judged(probe_of(still_answers=False), "infinite-lease-kept")["infinite-lease-kept"]
    assert verdict == "inconclusive" and "no ARP answer" in why, why


def test_a_client_that_renews_on_an_unauthenticated_forcerenew_fails():
    verdict, why = judged(probe_of(renews_on_forcerenew=True),
                          "forcerenew-unauthenticated-ignored")["forcerenew-unauthenticated-ignored"]
    assert verdict == "fail" and "0.4 s after a FORCERENEW with no authentication" in why, why


@pytest.mark.parametrize("check_id", [i for i in IDS if i.startswith("init-reboot-")])
def test_an_init_reboot_check_fails_when_its_field_breaks(check_id):
    rule = check_id.removeprefix("init-reboot-")
    level = next(c.level for c in client_checks4_more.CHECKS if c.id == check_id)
    edit = drop(50) if rule == "has-requested-address" else BREAKS[rule]
    verdict, why = judged(probe_of(after_restart=edit), check_id)[check_id]
    assert verdict == ("fail" if level == "MUST" else "warn"), (verdict, why)


def test_an_init_reboot_that_asks_for_another_address_fails():
    wrong = "10.9.0.99"
    first = message(REQUEST, 2000.0, xid=10, requested=wrong, opts=MessageOptions(broadcast=False))
    verdict, why = judged(probe_of(first=first), "init-reboot-has-requested-address")[
        "init-reboot-has-requested-address"]
    assert verdict == "fail" and why == f"option 50 is {wrong}; it held {ADDRESS} (in 1 of 2 messages)", why


def test_a_client_that_discovers_after_a_restart_leaves_init_reboot_not_applicable():
    first = message(DISCOVER, 2000.0, xid=11, opts=MessageOptions(options=[(61, b"\x01" + mac_bytes(MAC)),
                                                                          (12, b"board")]))
    got = judged(probe_of(first=first))
    assert {k for k, v in got.items() if v[0] == "n/a"} == {i for i in IDS if i.startswith("init-reboot-")}
    assert got["client-id-stable-across-restart"][0] == "pass"


def test_a_new_identity_after_a_restart_is_named():
    other = b"\x01\x02\x00\x00\x00\x00\x0b"
    got = judged(probe_of(first=message(REQUEST, 2000.0, xid=10, requested=ADDRESS, opts=MessageOptions(
        broadcast=False, options=[(61, other), (12, b"board")]))), "client-id-stable-across-restart")
    mine = (b"\x01" + mac_bytes(MAC)).hex()
    assert got["client-id-stable-across-restart"] == (
        "warn", f"its client identifier was {mine} before the restart, {other.hex()} after it")
    renamed = message(REQUEST, 2000.0, xid=10, requested=ADDRESS, opts=MessageOptions(
        broadcast=False, options=[(61, b"\x01" + mac_bytes(MAC)), (12, b"board-2")]))
    got = judged(probe_of(first=renamed), "hostname-stable-across-restart")
    assert got["hostname-stable-across-restart"] == (
        "warn", "its host name was 'board' before the restart, 'board-2' after it")


def test_without_restart_the_restart_checks_are_inconclusive_and_say_what_to_give():
    t = probe_of()
    t.restart = None
    del t.phases["reboot"]
    got = judged(t, "init-reboot-ciaddr-zero", "client-id-stable-across-restart")
    assert {v[0] for v in got.values()} == {"inconclusive"} and all("give restart=" in v[1] for v in got.values())


@pytest.mark.parametrize("routes, verdict, words", [
    (dict(asked=True, reply_to=OURS), "fail", "it took the Router option over the classless routes"),
    (dict(asked=True, reply_to=mac_bytes("02:00:00:00:00:99")), "fail", "neither router"),
    (dict(asked=True, reply_to=None), "n/a", "it has no default route to judge"),
    (dict(asked=False), "n/a", "it does not ask for option 121"),
])
def test_a_client_that_routes_by_option_3_over_121_fails_and_one_that_cannot_be_seen_is_not_judged(
        routes, verdict, words):
    got = judged(probe_of(routes=dict(routes, router="10.9.0.252", ours=OURS)), "classless-routes-over-router")
    assert got["classless-routes-over-router"][0] == verdict and words in got["classless-routes-over-router"][1], got


def test_a_client_that_offered_rfc_6704_and_ignores_a_signed_forcerenew_fails():
    got = judged(probe_of(nonce=dict(offered=True, sent_at=1.0, window=3.5, request=None)), "forcerenew-nonce-answered")
    assert got["forcerenew-nonce-answered"] == (
        "fail", "no REQUEST within 3.5 s of a FORCERENEW signed with the nonce it was given")
    got = judged(probe_of(nonce=dict(offered=False)), "forcerenew-nonce-answered")
    assert got["forcerenew-nonce-answered"][0] == "n/a"


RELEASE_BREAKS = {**BREAKS, "no-requested-address": append(50, ip_bytes(ADDRESS)),
                  "ip-dest-is-server": ip_dst("255.255.255.255")}


@pytest.mark.parametrize("check_id", [i for i in IDS if i.startswith("release-")])
def test_a_release_check_fails_when_its_field_breaks(check_id):
    rule = check_id.removeprefix("release-")
    level = next(c.level for c in client_checks4_more.CHECKS if c.id == check_id)
    verdict, why = judged(probe_of(release_edit=RELEASE_BREAKS[rule]), check_id)[check_id]
    assert verdict == ("fail" if level == "MUST" else "warn"), (verdict, why)


def test_a_device_asked_to_release_that_sends_nothing_leaves_the_release_checks_inconclusive():
    got = judged(probe_of(released=False))
    assert {k for k, v in got.items() if v[0] == "inconclusive"} == {i for i in IDS if i.startswith("release-")}
    t = probe_of()
    t.release = None
    del t.phases["release"]
    verdict, why = judged(t, "release-has-server-id")["release-has-server-id"]
    assert verdict == "inconclusive" and "give release=" in why, why
