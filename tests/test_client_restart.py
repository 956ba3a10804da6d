"""The client checks of part four (workloads/client_checks4_restart.py) without a network: the
phases' records (a REQUEST nobody answers, OFFERs with option 108) built from the project's own
frames. Each check passes on a client that keeps its rule and fails (warns, for a SHOULD) on
one that breaks it; the OFFERs the v6only phase sends are read back by the project's parser."""

from __future__ import annotations

import ipaddress

import pytest

from scapy_dhcp_ext.wire import DISCOVER, INFORM, OFFER, REQUEST, Bootp, ip_bytes, mac_bytes
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions
from scapy_dhcp_ext.wire.replies4 import ReplyOptions, build_reply
from scapy_dhcp_ext.workloads import client_checks4_restart
from scapy_dhcp_ext.workloads.client_phases4_restart import SHORT_108, V6ONLY
from scapy_dhcp_ext.workloads.client_probe4 import Phase
from scapy_dhcp_ext.workloads.reply_edit4 import set_option
from tests.test_client_fields import ADDRESS, BREAKS, SERVER, append, at, ip_dst, life, message
from tests.test_client_fields import judged as judged_in

IDS = [c.id for c in client_checks4_restart.CHECKS]
ASKS = MessageOptions(param_req_list=(1, 3, 6, V6ONLY))


def judged(probe, *ids: str) -> dict:
    return judged_in(probe, *ids, catalog=client_checks4_restart.CHECKS)


def probe_of(*, slow=True, gaps=(4.0, 8.0, 16.0), back_after: float | None = 30.0, asked=True,
             short_next=True, wait_next: str | None = None, inform_edit=None, answers_arp=True):
    """A client bound once (test_client_fields' life), then part four's two phases: its REQUEST
    retransmitted after ``gaps`` and its DISCOVER ``back_after`` s after the first; then the
    OFFERs with option 108 (``wait_next``: what it sent after the one with V6ONLY_WAIT)."""
    t = life({})
    t.restart, t.release, t.slow, t.inform = (lambda: None), None, slow, (lambda: None)
    start = 3000.0
    at = [start]
    for gap in gaps:
        at.append(at[-1] + gap)
    requests = [message(REQUEST, when, xid=21, requested=ADDRESS, server_id=SERVER) for when in at]
    back = message(DISCOVER, start + back_after, xid=22) if back_after is not None else None
    t.phases["retries"] = Phase("retries", start - 1, start + 140, facts=dict(
        first=requests[0], requests=requests, back=back))
    v6 = start + 200
    short = message(REQUEST, v6 + 0.3, xid=23, requested=ADDRESS, server_id=SERVER, opts=ASKS) if short_next else None
    after = {None: None,
             "request": message(REQUEST, v6 + 20.4, xid=24, requested=ADDRESS, server_id=SERVER, opts=ASKS),
             "discover": message(DISCOVER, v6 + 24.0, xid=25, opts=ASKS)}[wait_next]
    t.phases["v6only"] = Phase("v6only", v6, v6 + 40, facts=dict(
        asked=asked, short=(v6 + 0.2, ADDRESS), short_next=short, short_window=10.0,
        wait=(v6 + 20.2, ADDRESS), wait_next=after, wait_window=10.0,
        wait_request=after if wait_next == "request" else None))
    # A board given ADDRESS by hand: its DHCPINFORM, broadcast, from that address.
    inform = message(INFORM, v6 + 50, xid=26, ciaddr=ADDRESS, edit=inform_edit,
                     opts=MessageOptions(param_req_list=(1, 3, 6)))
    t.phases["inform"] = Phase("inform", v6 + 49, v6 + 52, facts=dict(inform=inform, answers_arp=answers_arp))
    return t


def test_every_check_passes_on_a_client_that_keeps_the_rfcs():
    got = judged(probe_of())
    assert len(got) == len(IDS) == 17 and {k: v for k, v in got.items() if v[0] != "pass"} == {}, got
    assert got["request-unanswered-back-to-init"][1] == "4 REQUESTs (gaps 4.0, 8.0, 16.0 s), then a DISCOVER 30.0 s " \
                                                        "after the first"


def test_a_client_that_requests_for_ever_or_never_retransmits_is_warned():
    verdict, why = judged(probe_of(back_after=None), "request-unanswered-back-to-init")[
        "request-unanswered-back-to-init"]
    assert verdict == "warn" and "no DISCOVER within 132 s: it asks the silent server for ever" in why, why
    verdict, why = judged(probe_of(gaps=(), back_after=5.0), "request-unanswered-back-to-init")[
        "request-unanswered-back-to-init"]
    assert verdict == "warn" and "after a single REQUEST: no retransmission" in why, why


def test_the_retries_check_is_slow_and_not_applicable_without_slow():
    verdict, why = judged(probe_of(slow=False), "request-unanswered-back-to-init")["request-unanswered-back-to-init"]
    assert verdict == "n/a" and "give slow=True" in why, why


def test_a_client_that_obeys_a_malformed_option_108_fails():
    got = judged(probe_of(short_next=False), "v6only-wrong-length-ignored")
    assert got["v6only-wrong-length-ignored"][0] == "fail" and "2 bytes long" in got["v6only-wrong-length-ignored"][1]


def test_a_client_that_requests_an_ipv6_only_offer_fails_both_and_one_that_rediscovers_is_warned():
    got = judged(probe_of(wait_next="request"), "v6only-offer-not-requested", "v6only-wait-honoured")
    assert got["v6only-offer-not-requested"] == (
        "fail", f"it REQUESTed {ADDRESS} 0.2 s after an OFFER that said IPv6-only preferred")
    assert got["v6only-wait-honoured"][0] == "warn"
    got = judged(probe_of(wait_next="discover"), "v6only-offer-not-requested", "v6only-wait-honoured")
    assert got["v6only-offer-not-requested"][0] == "pass"
    assert got["v6only-wait-honoured"] == ("warn", "its DISCOVER came 3.8 s after the OFFER (V6ONLY_WAIT 300 s)")


def test_a_client_that_does_not_ask_for_option_108_is_not_judged_on_it():
    got = judged(probe_of(asked=False, short_next=False, wait_next="request"))
    assert {k for k, v in got.items() if v[0] == "n/a"} == {i for i in IDS if i.startswith("v6only-")}


def test_without_restart_the_option_108_checks_are_inconclusive_and_say_what_to_give():
    t = probe_of()
    t.restart = None
    del t.phases["v6only"]
    got = judged(t, "v6only-wait-honoured")
    assert got["v6only-wait-honoured"][0] == "inconclusive" and "give restart=" in got["v6only-wait-honoured"][1]


@pytest.mark.parametrize("payload", [SHORT_108, (300).to_bytes(4, "big")])
def test_the_offers_with_option_108_read_back_with_it_and_nothing_else_changed(payload):
    opts = ReplyOptions.build(server_ip=SERVER, network=ipaddress.IPv4Network("10.9.0.0/24"), lease_time=30)
    discover = message(DISCOVER, 1.0, xid=5, opts=ASKS)
    raw = build_reply(discover, OFFER, opts, server_mac=mac_bytes("02:00:00:00:00:01"), server_ip=SERVER,
                      yiaddr=ADDRESS)
    plain, got = parse_frame(raw), parse_frame(set_option(raw, V6ONLY, payload))
    assert got.options[V6ONLY] == payload and got.message_type == OFFER and got.yiaddr == ADDRESS
    assert {c: v for c, v in got.options.items() if c != V6ONLY} == plain.options
    assert not [p for p in got.problems if "checksum" in p]


INFORM_BREAKS = {**BREAKS, "no-requested-address": append(50, ip_bytes(ADDRESS)),
                 "no-lease-time": append(51, (3600).to_bytes(4, "big")), "ip-dest": ip_dst("10.9.0.77"),
                 "ciaddr-is-address": at(Bootp.CIADDR, bytes(4))}


@pytest.mark.parametrize("check_id", [i for i in IDS if i.startswith("inform-")])
def test_an_inform_check_fails_when_its_field_breaks(check_id):
    level = next(c.level for c in client_checks4_restart.CHECKS if c.id == check_id)
    verdict, why = judged(probe_of(inform_edit=INFORM_BREAKS[check_id.removeprefix("inform-")]), check_id)[check_id]
    assert verdict == ("fail" if level == "MUST" else "warn"), (verdict, why)


def test_an_inform_address_nobody_answers_arp_for_is_not_judged_and_without_inform_is_not_applicable():
    verdict, why = judged(probe_of(answers_arp=False), "inform-ciaddr-is-address")["inform-ciaddr-is-address"]
    assert verdict == "inconclusive" and "answers no ARP for it" in why, why
    t = probe_of()
    t.inform = None
    del t.phases["inform"]
    got = judged(t)
    assert {k for k, v in got.items() if v[0] == "n/a"} == {i for i in IDS if i.startswith("inform-")}
    assert "give inform=" in got["inform-udp-ports"][1]


def test_a_client_that_rediscovers_and_then_requests_the_ipv6_only_offer_fails():
    t = probe_of(wait_next="discover")
    facts = t.phases["v6only"].facts
    facts["wait_request"] = message(REQUEST, facts["wait"][0] + 6.0, xid=27, requested=ADDRESS, server_id=SERVER,
                                    opts=ASKS)
    got = judged(t, "v6only-offer-not-requested")
    assert got["v6only-offer-not-requested"] == (
        "fail", f"it REQUESTed {ADDRESS} 6.0 s after an OFFER that said IPv6-only preferred")


def test_a_lever_that_fails_in_a_phase_makes_each_check_that_needs_it_say_why():
    # The lab's inform() raises when the client held no address; before, the first check said so and
    # the twelve after it "KeyError: 'inform'" (the phase was left half-made)
    from scapy_dhcp_ext.workloads.checks import NoEvidence, Recorder
    from scapy_dhcp_ext.workloads.client_phases4_restart import inform_phase

    t = probe_of()
    t.phases.pop("inform", None)
    t.recorder = Recorder()

    def lever():
        raise RuntimeError("dhcpcd has held no address to configure by hand")

    t.inform = lever
    for _ in range(2):
        with pytest.raises(NoEvidence, match="RuntimeError: dhcpcd has held no address"):
            inform_phase(t)
    got = judged(t, *[i for i in IDS if i.startswith("inform-")])
    assert {v for v, _why in got.values()} == {"inconclusive"}
    assert all("RuntimeError: dhcpcd has held no address" in why for _v, why in got.values()), got
