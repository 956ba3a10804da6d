"""The checks' frame without a network: the catalogs, verdicts by level, the
runner's faults and Ctrl-C, the report's outputs (JUnit read back with
ElementTree), and server checks judged against scripted servers that break
one rule each."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import pytest

from scapy_dhcp_ext import DhcpSession, UsageError
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.wire import DISCOVER, OFFER, REQUEST
from scapy_dhcp_ext.workloads.checks import (
    MUST,
    SHOULD,
    Check,
    CheckReport,
    NoEvidence,
    broken,
    met,
    not_applicable,
    run_checks,
    select,
)
from scapy_dhcp_ext.workloads.client_checks4 import CLIENT_CHECKS
from scapy_dhcp_ext.workloads.server_checks4 import SERVER_CHECKS
from tests.support.fakes import FakeSocket, reply_frame, simple_server

SERVER_IDS = """offer-has-server-id ack-has-server-id nak-has-server-id offer-has-lease-time ack-has-lease-time
offer-ciaddr-zero xid-echoed chaddr-echoed flags-echoed broadcast-when-flag-set unicast-when-flag-clear
init-reboot-wrong-network-nak selecting-other-server-silent renew-ack rebind-ack release-frees-address
release-wrong-chaddr-ignored decline-marks-address inform-ack-no-lease-time requested-address-honoured
param-request-list-honoured max-message-size-honoured relay-reply-to-giaddr relay-agent-info-echoed
bootreply-ignored same-client-same-address two-clients-two-addresses survives-malformed""".split()
CLIENT_IDS = """retransmit-backoff xid-stable-in-transaction xid-changes-between-transactions secs-field-set
request-selecting-has-server-id-and-address renew-at-t1 renew-unicast-with-ciaddr rebind-at-t2-broadcast
nak-restarts-discovery ignores-nak-from-unselected-server ignores-foreign-xid ignores-foreign-chaddr
declines-address-in-use stops-using-expired-lease client-id-stable param-request-list-stable
honours-t1-t2-options""".split()


def test_the_catalogs_hold_every_check_the_issue_names_each_with_a_clause_and_a_level():
    assert len(SERVER_CHECKS) >= 30 and len(CLIENT_CHECKS) >= 16
    assert set(SERVER_IDS) <= {c.id for c in SERVER_CHECKS}
    assert set(CLIENT_IDS) <= {c.id for c in CLIENT_CHECKS}
    for c in SERVER_CHECKS + CLIENT_CHECKS:
        assert c.level in (MUST, SHOULD) and c.rfc.split()[0].isdigit() and c.rule, c
    destructive = {c.id for c in SERVER_CHECKS if c.destructive}
    assert destructive == {"release-frees-address", "release-wrong-chaddr-ignored", "decline-marks-address"}


def fake_checks() -> list[Check]:
    def boom(_t):
        raise RuntimeError("the device went away")

    def missing(_t):
        raise NoEvidence("no OFFER came")

    return [Check("a-must", "2131 4.1", MUST, "rule a", lambda t: broken("it did not")),
            Check("a-should", "2131 4.2", SHOULD, "rule b", lambda t: broken("it did not either")),
            Check("ok", "2131 4.3", MUST, "rule c", lambda t: met("fine")),
            Check("na", "2131 4.4", MUST, "rule d", lambda t: not_applicable("nothing to judge")),
            Check("boom", "2131 4.5", MUST, "rule e", boom),
            Check("missing", "2131 4.6", MUST, "rule f", missing),
            Check("destroys", "2131 4.7", MUST, "rule g", lambda t: met("fine"), destructive=True)]


class Context:
    recorder = None


def test_verdicts_follow_the_level_and_a_fault_is_inconclusive_not_a_crash(tmp_path):
    report = run_checks(CheckReport("server", "10.0.0.1"), fake_checks(), Context(), destructive=False,
                        progress=False)
    assert report.verdicts() == {"a-must": "fail", "a-should": "warn", "ok": "pass", "na": "n/a",
                                 "boom": "inconclusive", "missing": "inconclusive", "destroys": "n/a"}
    assert "the device went away" in report["boom"].why and report["missing"].why == "no OFFER came"
    assert "destructive=True" in report["destroys"].why
    assert [r.id for r in report.failed] == ["a-must"] and [r.id for r in report.passed] == ["ok"]
    assert report.summary().startswith("server 10.0.0.1: 1 pass, 1 fail, 1 warn, 2 n/a, 2 inconclusive in ")
    with pytest.raises(KeyError):
        report["nope"]


def test_ctrl_c_ends_the_run_with_the_rest_not_run():
    def interrupt(_t):
        raise KeyboardInterrupt

    checks = fake_checks()[2:3] + [Check("stop", "2131 1", MUST, "r", interrupt)] + fake_checks()[:2]
    report = run_checks(CheckReport("client"), checks, Context(), progress=False)
    assert report.interrupted and report.verdicts() == {"ok": "pass", "stop": "not run", "a-must": "not run",
                                                        "a-should": "not run"}
    assert "interrupted" in report.summary()


def test_only_and_skip_choose_checks_and_an_unknown_id_says_which_exist():
    assert [c.id for c in select(SERVER_CHECKS, ["xid-echoed"], None)] == ["xid-echoed"]
    assert "xid-echoed" not in [c.id for c in select(SERVER_CHECKS, None, "xid-echoed")]
    with pytest.raises(UsageError, match="unknown check 'xid-echo'.*xid-echoed"):
        select(SERVER_CHECKS, ["xid-echo"], None)


def test_junit_has_one_testcase_per_check_with_its_rfc_level_and_verdict(tmp_path):
    report = run_checks(CheckReport("server", "10.0.0.1"), fake_checks(), Context(), destructive=False,
                        progress=False)
    suite = ET.parse(report.to_junit(str(tmp_path / "checks.xml"))).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "7"
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "2", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [c.id for c in fake_checks()]
    props = {p.get("name"): p.get("value") for p in cases["a-must"].iter("property")}
    assert props == {"rfc": "2131 4.1", "level": "MUST", "verdict": "fail"}
    assert cases["a-must"].find("failure").get("message") == "it did not"
    assert cases["boom"].find("error") is not None and cases["na"].find("skipped") is not None
    assert cases["a-should"].find("failure") is None   # a warn is a pass with a note
    path = report.to_json(str(tmp_path / "checks.json"))   # a writer returns the path it wrote
    data = json.loads(open(path).read())
    assert data["counts"]["fail"] == 1 and data["checks"][0]["id"] == "a-must"
    assert "<table>" in report._repr_html_() and "a-must" in repr(report)


# -- server checks against scripted servers, each breaking a rule -----------------------

def session_with(respond) -> DhcpSession:
    return DhcpSession("fake0", state_file=False, transport=Transport("fake0", sock=FakeSocket(respond)))


def judged(respond, *ids: str) -> dict[str, str]:
    with session_with(respond) as s:
        return s.check_server(only=list(ids), progress=False, timeout=0.3, quiet=0.2).verdicts()


ONE = ["offer-has-server-id", "offer-has-lease-time", "offer-ciaddr-zero", "xid-echoed", "chaddr-echoed",
       "ack-has-server-id", "selecting-other-server-silent"]


def test_a_server_that_keeps_the_rules_passes_them():
    def good(frame):
        if frame.message_type == REQUEST and frame.server_id not in (None, "10.9.0.1"):
            return []   # another server was chosen
        return simple_server(frame)

    assert set(judged(good, *ONE).values()) == {"pass"}


def test_an_offer_without_server_id_or_lease_time_fails_exactly_those():
    def no_54_51(frame):
        if frame.message_type == DISCOVER:
            opts = bytes([53, 1, OFFER, 1, 4, 255, 255, 255, 0, 255])
            return [reply_frame(frame, OFFER, options=opts)]
        return [] if frame.message_type == REQUEST and frame.server_id == "192.0.2.1" else simple_server(frame)

    got = judged(no_54_51, *ONE)
    assert {k for k, v in got.items() if v == "fail"} == {"offer-has-server-id", "offer-has-lease-time"}, got


def test_wrong_xid_and_answering_another_servers_request_fail():
    def sloppy(frame):
        if frame.message_type == DISCOVER:
            return [reply_frame(frame, OFFER, xid=frame.xid ^ 1), reply_frame(frame, OFFER)]
        return simple_server(frame)   # it ACKs a REQUEST meant for 192.0.2.1 too

    got = judged(sloppy, "xid-echoed", "selecting-other-server-silent", "max-message-size-honoured")
    assert got == {"xid-echoed": "fail", "selecting-other-server-silent": "fail", "max-message-size-honoured": "pass"}


def test_no_server_at_all_is_a_clear_error():
    from scapy_dhcp_ext import DhcpTimeout

    with session_with(lambda f: []) as s, pytest.raises(DhcpTimeout, match="no DHCP server answered"):
        s.check_server(progress=False, timeout=0.2)


def test_max_message_size_counts_the_ip_length():
    def big(frame):
        if frame.message_type == DISCOVER:
            pad = bytes([43, 255]) + bytes(255)
            opts = bytes([53, 1, OFFER, 54, 4, 10, 9, 0, 1, 51, 4]) + struct.pack("!I", 60) + pad + pad + b"\xff"
            return [reply_frame(frame, OFFER, options=opts)]
        return simple_server(frame)

    assert judged(big, "max-message-size-honoured") == {"max-message-size-honoured": "warn"}


def test_the_evidence_carries_wall_clock_times_for_the_pcapng():
    import time

    with session_with(simple_server) as s:
        before = time.time()
        report = s.check_server(only=["xid-echoed"], progress=False, timeout=0.3, quiet=0.2)
    times = [t for _d, _raw, t in report["xid-echoed"].frames]
    assert times and all(before - 1 <= t <= time.time() + 1 for t in times), times


# -- a link that passes unicast only to its own MAC (a labgrid remote place's macvtap) -----

def test_on_a_single_mac_link_the_checks_clients_share_its_mac_and_differ_by_client_id():
    """All chaddrs are the link's (the server's unicast reaches us), option 61 tells the clients
    apart, ARP is answered with the link's MAC, and the forged-chaddr RELEASE is n/a."""
    seen: list = []
    arp: dict = {}

    def good(frame):
        seen.append(frame)
        arp.update(transport.arp_addresses)   # what answers ARP while the checks' leases are held
        if frame.message_type == REQUEST and frame.server_id not in (None, "10.9.0.1"):
            return []
        return simple_server(frame)

    sock = FakeSocket(good)
    transport = Transport("lo", sock=sock, single_mac=True)   # lo's MAC, read as the link's: 00:..:00
    with DhcpSession(transport=transport, state_file=False) as s:   # on the link's MAC, as on a remote place
        report = s.check_server(only=ONE + ["release-wrong-chaddr-ignored"], destructive=True,
                                progress=False, timeout=0.3, quiet=0.2)
    verdicts = report.verdicts()
    assert verdicts.pop("release-wrong-chaddr-ignored") == "n/a"
    assert set(verdicts.values()) == {"pass"}, report
    assert {f.chaddr for f in seen} == {bytes(6)}   # the link's MAC
    ids = {f.options.get(61) for f in seen}
    assert None not in ids and len(ids) >= 2 and all(len(i) == 7 and i[0] == 1 for i in ids)
    assert arp and set(arp.values()) == {bytes(6)}   # the link's MAC, not the clients' own


def test_the_transport_asks_about_its_interface_through_the_socket_maker():
    made: list[tuple] = []

    def new_socket(*args):
        made.append(args)
        import socket
        return socket.socket(*args)

    t = Transport("lo", sock=FakeSocket(), new_socket=new_socket)
    assert t.link_mac() == "00:00:00:00:00:00" and t.link_mtu() == 65536 and t.link_ipv4() == "127.0.0.1/8"
    assert len(made) >= 3 and all(a[:2] == (2, 2) for a in made)   # AF_INET, SOCK_DGRAM ioctls
    t.answer_arp("10.0.0.9", b"\x02" * 6)
    assert t.arp_addresses[bytes([10, 0, 0, 9])] == b"\x02" * 6   # not single-MAC: as given


def test_the_server_catalog_runs_in_its_order():
    """What a reply carries first, the checks that change the server's state after the rest, and
    the robustness check (malformed requests) last: the order is the catalog's, not the import's."""
    ids = [c.id for c in SERVER_CHECKS]
    assert ids[0] == "offer-has-server-id" and ids[-1] == "survives-malformed"
    destructive = [k for k, c in enumerate(SERVER_CHECKS) if c.destructive]
    assert destructive == list(range(len(ids) - 1 - len(destructive), len(ids) - 1))


@pytest.mark.parametrize("gaps, waited, kept, says", [
    ([4.1, 7.9, 16.2], None, True, "RFC 2131's doubling"),
    ([3.5, 7.7, 16.3], None, True, "RFC 2131's doubling"),                 # dhcpcd, its first DISCOVER seen
    ([7.7, 16.0, 31.5], None, True, "seen from its 8 s step on"),          # joined midway: the same schedule
    ([64.3, 63.8], None, True, "seen from its 64 s step on"),              # at the cap
    ([2.0, 4.1, 8.0], None, False, "doubling, but from 2 s"),               # an embedded stack's 2, 4, 8
    ([1.0, 1.0], None, False, "a fixed interval"),                           # udhcpc -T 1
    ([60.0, 60.2], None, False, "a fixed interval"),                         # a 60 s cap
    ([4.0, 12.0], None, False, "expected 8 +/- 1 s"),
    ([3.5], 9.0, False, "then no retransmission within 9.0 s"),
    ([7.7, 16.1], None, True, "seen from its 8 s step on"),
    ([], 66.5, False, "no retransmission within 66.5 s"),
])
def test_retransmissions_are_judged_from_any_step_of_the_schedule(gaps, waited, kept, says):
    from scapy_dhcp_ext.workloads.backoff4 import enough, judge, next_within

    got = judge(gaps, waited)
    assert got[0] is kept and says in got[1] and got[1].startswith("intervals "), got
    if waited is None:
        assert enough(gaps)   # each of these settles the verdict without another wait
    assert next_within([3.5, 7.7]) == 18.5 and next_within([15.1]) == 34.5   # the schedule's next step, +1 s, +1.5
    assert next_within([40.0]) == 66.5 and next_within([]) == 66.5
    assert enough([3.5, 7.7]) and not enough([4.0])   # two intervals show a doubling; one does not: wait on
