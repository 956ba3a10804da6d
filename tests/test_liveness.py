"""The liveness model, pure: frames in, signs of life and words out. The
frames are built here byte by byte (not with the package's builders), so a
wrong offset in either shows."""

from __future__ import annotations

import struct

import pytest

from scapy_dhcp_ext.lab.clients import client_command, parse_spec
from scapy_dhcp_ext.workloads.liveness import PROBE_PHASE, Liveness, classify
from scapy_dhcp_ext.workloads.reply_evidence4 import backoff_window

DEV = bytes.fromhex("025c00000001")
OTHER = bytes.fromhex("025c00000002")


def ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def arp(op: int, sha: bytes, spa: str, tpa: str) -> bytes:
    return b"\xff" * 6 + sha + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip(spa),
                                                         bytes(6), ip(tpa))


def dhcp(kind: int, src: bytes, ciaddr: str = "0.0.0.0") -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 7, 0, 0, ip(ciaddr), bytes(4), bytes(4),
                        bytes(4), src, b"", b"") + b"\x63\x82\x53\x63" + bytes([53, 1, kind, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ip(ciaddr), b"\xff" * 4)
    return b"\xff" * 6 + src + b"\x08\x00" + head + udp


def test_each_kind_of_frame_is_the_sign_it_is():
    assert classify(arp(1, DEV, "0.0.0.0", "10.77.0.23"), 1.0).kind == "arp-probe"          # RFC 5227 probe
    assert classify(arp(1, DEV, "0.0.0.0", "10.77.0.23"), 1.0).address == "10.77.0.23"
    assert classify(arp(1, DEV, "10.77.0.23", "10.77.0.23"), 1.0).kind == "arp-announce"
    assert classify(arp(2, DEV, "10.77.0.23", "10.77.0.1"), 1.0).kind == "arp-reply"
    assert classify(arp(1, DEV, "10.77.0.23", "10.77.0.1"), 1.0).kind == "arp-request"
    sign = classify(dhcp(3, DEV, "10.77.0.23"), 1.0)
    assert (sign.kind, sign.address, sign.dhcp) == ("REQUEST", "10.77.0.23", True)
    assert classify(b"\xff" * 6 + DEV + b"\x86\xdd" + bytes(60), 1.0).kind == "frame"


def test_only_the_device_counts_and_silence_is_timed_from_its_last_sign():
    now = [0.0]
    life = Liveness(DEV, clock=lambda: now[0])
    assert life.feed(arp(1, OTHER, "0.0.0.0", "10.77.0.23")) is None     # another host: not a sign
    now[0] = 1.2
    life.feed(arp(1, DEV, "0.0.0.0", "10.77.0.23"))
    now[0] = 2.9
    life.feed(arp(1, DEV, "0.0.0.0", "10.77.0.23"))
    assert life.last() == 2.9 and life.last(since=3.0) is None
    assert [s.t for s in life.probes("10.77.0.23", 0.0)] == [1.2, 2.9]
    assert life.probing_until("10.77.0.23", 0.0) == pytest.approx(2.9 + 4.0)   # PROBE_MAX + ANNOUNCE_WAIT
    assert life.holds("10.77.0.23", 0.0) is None                       # probing is not using it
    now[0] = 7.0
    life.feed(arp(1, DEV, "10.77.0.23", "10.77.0.23"))
    assert life.holds("10.77.0.23", 0.0).kind == "arp-announce"
    assert life.words(life.after(0.0), 0.0) == ("ARP probes for 10.77.0.23 at +1.2, +2.9 s; "
                                                 "ARP announcements of 10.77.0.23 at +7.0 s")
    assert 8.0 <= PROBE_PHASE <= 10.0   # RFC 5227: about 9 s from the ACK to the announcement


def test_a_device_that_probed_is_done_at_its_second_announcement_or_a_while_after_its_first():
    now = [0.0]
    life = Liveness(DEV, clock=lambda: now[0])
    assert life.done_probing("10.77.0.23", 0.0)                       # no probe: nothing to wait for
    for at in (0.5, 2.0, 3.5):
        now[0] = at
        life.feed(arp(1, DEV, "0.0.0.0", "10.77.0.23"))
    now[0] = 7.4
    assert not life.done_probing("10.77.0.23", 0.0)                   # no announcement yet, within 4 s
    now[0] = 7.6
    assert life.done_probing("10.77.0.23", 0.0)                       # none came: its wait after the probe is over
    now[0] = 5.5
    life.feed(arp(1, DEV, "10.77.0.23", "10.77.0.23"))                # the first announcement
    now[0] = 7.6
    assert not life.done_probing("10.77.0.23", 0.0)                   # dhcpcd may not listen yet
    now[0] = 8.1
    assert life.done_probing("10.77.0.23", 0.0)                       # ANNOUNCE_INTERVAL and a margin later
    now[0] = 6.0
    fresh = Liveness(DEV, clock=lambda: now[0])
    for at, spa in ((0.5, "0.0.0.0"), (5.0, "10.77.0.23"), (6.0, "10.77.0.23")):
        now[0] = at
        fresh.feed(arp(1, DEV, spa, "10.77.0.23"))
    assert fresh.done_probing("10.77.0.23", 0.0)                      # the second announcement


def test_the_summary_says_what_the_device_was_doing():
    now = [0.0]
    life = Liveness(None, clock=lambda: now[0])
    assert life.summary() == "nothing from the device"
    life.follow(DEV)
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        life.feed(dhcp(3, DEV, "10.77.0.23"))
    now[0] = 21.0
    text = life.summary()
    assert text.startswith("02:5c:00:00:00:01: 3 REQUESTs for 10.77.0.23 every 10.0 s"), text
    assert text.endswith("last 1.0 s ago")
    life.follow(OTHER)
    assert life.summary() == "nothing from the device"   # what another MAC did is forgotten


def test_client_specs_name_what_is_wrong(tmp_path):
    assert parse_spec("udhcpc:shipped") == ("udhcpc", ["shipped"])
    assert parse_spec("embedded:crash-on=option-overrun,no-arp-probe") == (
        "embedded", ["crash-on=option-overrun", "no-arp-probe"])
    with pytest.raises(ValueError, match="unknown client 'dhclient'"):
        parse_spec("dhclient")
    with pytest.raises(ValueError, match="unknown option 'fast' for the udhcpc client"):
        parse_spec("udhcpc:fast")
    argv = client_command("udhcpc:shipped", tmp_path)
    assert "-a" in argv and "-T" not in argv                      # ARP check on, its default timers
    assert "-A" not in " ".join(client_command("dhcpcd:shipped", tmp_path)).split()
    assert " -A " in " ".join(client_command("dhcpcd", tmp_path))  # the lab's fast mode: no ARP probe
    argv = client_command("embedded:schedule=2/4,crash-on=no-end", tmp_path, "02:5c:00:00:00:01")
    assert argv[-2:] == ["--schedule=2,4", "--crash-on=no-end"] and "02:5c:00:00:00:01" in argv


def test_the_device_is_the_first_mac_that_sends_dhcp_twice_never_ours_and_no_other_after_it():
    from scapy_dhcp_ext.workloads.liveness import Chooser

    ours = bytes.fromhex("020000000001")
    chooser = Chooser(None, lambda: {ours})
    assert chooser.see(ours, "a") == [] and chooser.see(ours, "b") == [] and chooser.target is None
    assert chooser.see(OTHER, "o1") == [] and chooser.see(DEV, "d1") == []
    assert chooser.see(DEV, "d2") == ["d1", "d2"] and chooser.target == DEV   # both its messages, in order
    assert chooser.see(OTHER, "o2") == [] and chooser.see(DEV, "d3") == ["d3"]
    given = Chooser(OTHER, lambda: {ours})
    assert given.see(DEV, "x") == [] and given.see(OTHER, "y") == ["y"]


def test_the_retry_interval_is_measured_between_retransmissions_of_one_xid():
    from scapy_dhcp_ext.workloads.reply_machine4 import measured

    assert measured([]) is None and measured([(0.0, 1)]) is None
    assert measured([(0.0, 1), (3.0, 1)]) == 3.0
    # A restarted client: its old DISCOVER and its new one 0.1 s apart are no interval.
    assert measured([(0.0, 1), (0.1, 2)]) is None and measured([(0.0, 1), (0.1, 2), (3.1, 2)]) == 3.0
    # A client that draws a new xid each time: the last gap, once four came; never under 0.5 s.
    assert measured([(0.0, 1), (1.0, 2), (2.0, 3)]) is None
    assert measured([(0.0, 1), (1.0, 2), (2.0, 3), (3.0, 4)]) == 1.0
    assert measured([(0.0, 1), (0.1, 1)]) == 0.5


def test_ipv6_signs_of_life_dad_neighbour_discovery_and_dhcpv6():
    """Scapy builds the v6 frames here (an oracle for our offsets): DAD is a neighbour solicitation
    from ::, a configured address shows in NS and NA, a DHCPv6 message to port 547 is named."""
    from scapy.layers.dhcp6 import DHCP6_Request
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, IPv6
    from scapy.layers.l2 import Ether

    eth = Ether(src="02:5c:00:00:00:01", dst="33:33:ff:00:01:00")
    signs = [classify(bytes(eth / IPv6(src=src, dst=dst) / layer), 1.0) for src, dst, layer in (
        ("::", "ff02::1:ff00:100", ICMPv6ND_NS(tgt="fd77::100")),
        ("fd77::100", "ff02::1:ff00:1", ICMPv6ND_NS(tgt="fd77::1")),
        ("fd77::100", "fe80::1", ICMPv6ND_NA(tgt="fd77::100")),
        ("fd77::100", "fe80::1", ICMPv6EchoRequest()),
        ("fe80::5c:ff:fe00:1", "ff02::1:2", UDP(sport=546, dport=547) / DHCP6_Request()))]
    assert [(s.kind, s.address) for s in signs] == [("ns-dad", "fd77::100"), ("ns", "fd77::100"),
                                                   ("na", "fd77::100"), ("icmp6", "fd77::100"), ("REQUEST", "")]
    assert signs[-1].dhcp and not signs[0].dhcp
    life = Liveness(DEV, clock=lambda: 5.0)
    life.feed(bytes(eth / IPv6(src="::", dst="ff02::1:ff00:100") / ICMPv6ND_NS(tgt="fd77::100")))
    assert life.holds("fd77::100", 0.0).kind == "ns-dad"
    assert "DAD probes for fd77::100" in life.words(life.after(0.0), 0.0)
    # a host's frames before it has an address come from :: (an MLD report during DAD): no sign it uses ::,
    # the address a hostile ADVERTISE offers (advertise-address-unspecified)
    from scapy.layers.inet6 import ICMPv6MLReport2
    life.feed(bytes(eth / IPv6(src="::", dst="ff02::16") / ICMPv6MLReport2()))
    assert life.after(0.0)[-1].kind == "icmp6" and life.after(0.0)[-1].address == "::"
    assert life.holds("::", 0.0) is None and life.holds("0.0.0.0", 0.0) is None


@pytest.mark.parametrize("step, next_at_most", [
    (15.8, 33.0),   # dhcpcd: a 16 s step seen 0.2 s short, then 32 s + 1 (the soak's wrong dead)
    (7.6, 17.0),    # 8 s seen 0.4 s short, then 16 s + 1
    (4.0, 9.0),     # the first RFC step: 4 +/- 1, then 8 +/- 1
    (60.0, 65.0),   # at the cap: 64 + 1
])
def test_the_silence_window_covers_the_next_rfc_2131_retransmission_jittered_both_ways(step, next_at_most):
    assert next_at_most <= backoff_window(step) <= next_at_most + 3.0


@pytest.mark.parametrize("step, want", [(1.0, 2.0), (2.0, 4.0)])   # udhcpc -T 1, the embedded client's 2 s
def test_a_short_fixed_interval_is_the_clients_own_and_gets_no_rfc_jitter(step, want):
    assert backoff_window(step) == want


def _evidence(retry: float | None = 3.0, given: bool = False):
    """The sweep's waits on their own: Evidence with only what its windows read."""
    from scapy_dhcp_ext.workloads.reply_evidence4 import Evidence
    from scapy_dhcp_ext.workloads.reply_machine4 import Schedule

    e = object.__new__(Evidence)
    e.retry, e.gap_before, e.margin, e.given_retry, e.schedule = retry, retry, 0.5, given, Schedule()
    return e


def test_a_fixed_interval_device_is_given_its_pause_before_it_can_be_called_dead():
    # BusyBox udhcpc as Debian runs it: 3 DISCOVERs 3 s apart, then 20 s, then a new xid (the soak's
    # wrong deads: it was called dead 9.5 s after a dropped OFFER, inside that pause)
    e = _evidence()
    for t, xid in ((0.0, 1), (3.0, 1), (6.0, 1)):
        e.schedule.see(t, xid, True)
    assert not e.schedule.doubling and e.schedule.pause is None
    assert e.window() == 9.5 and e.dead_window() == 65.5   # no pause seen yet: RFC 2131's cap
    e.schedule.see(29.0, 2, True)
    assert e.schedule.pause == 23.0 and e.dead_window() == 24.5   # its own pause, once shown
    # a gap with another message between (a REQUEST) or across a restart of ours is no pause
    e.schedule.see(30.0, 2, False)
    e.schedule.see(70.0, 3, True)
    e.schedule.forget()
    e.schedule.see(140.0, 4, True)
    assert e.schedule.pause == 23.0


def test_a_device_with_a_new_xid_each_try_has_shown_no_pause_until_a_longer_gap():
    e = _evidence()
    for t, xid in ((0.0, 1), (3.0, 2), (6.0, 3)):   # its interval, with another xid each time
        e.schedule.see(t, xid, True)
    assert e.schedule.pause == 3.0 and e.dead_window() == 65.5
    e.schedule.see(29.0, 4, True)
    assert e.dead_window() == 24.5


def test_a_doubling_device_or_a_given_retry_keeps_the_plain_window():
    e = _evidence(4.0)
    for t in (0.0, 4.0, 12.0):   # dhcpcd: 4, then 8
        e.schedule.see(t, 9, True)
    assert e.schedule.doubling and e.dead_window() == e.window()
    given = _evidence(1.0, given=True)   # retry=1: the user's word for its schedule
    assert given.dead_window() == given.window() == 2.5


def test_a_case_whose_device_talks_in_another_exchange_is_tried_again_not_held_for_ever():
    """The soak's hang: a case begun on the DISCOVER of a client being restarted waited, in mode
    "offered", for a REQUEST with that xid; the new process DISCOVERed with its own every 60 s,
    inside the silence window, and got no OFFER (another xid): 20 minutes on one case. Past the
    comeback time (and its retry window) the case goes back to be tried again, however chatty the
    device is."""
    import time
    from types import SimpleNamespace

    from scapy_dhcp_ext.workloads.reply_cases4 import catalog
    from scapy_dhcp_ext.workloads.reply_report import ReplyReport, ReplyRow
    from scapy_dhcp_ext.workloads.reply_sweep4 import ReplySweeper

    case = next(c for c in catalog() if c.phase == "ack")
    server = SimpleNamespace(pool=SimpleNamespace(server_ip="10.77.0.1"))
    sweep = ReplySweeper(SimpleNamespace(endpoint=None), server, ReplyReport("t", remaining=[case]), mac=DEV,
                         probe=None, restart=None, renew=None, retry=60.0, margin=0.5, comeback=30.0,
                         progress=False)
    now = time.monotonic()
    sweep.case, sweep.xid = case, 0x1234
    sweep.row = ReplyRow(case.name, case.cite, case.phase, case.what, case.expect, started=time.time())
    # our valid OFFER went (for xid 0x1234) longer ago than the comeback time and its retry window
    sweep.mode, sweep.since = "offered", now - max(31.0, sweep.window() + 1.0)
    sweep.life.clock = lambda: now
    sweep.life.feed(dhcp(1, DEV))                     # its DISCOVER just now (another exchange)
    sweep._step()
    assert sweep.mode == "wait" and sweep.attempts == {case.name: 1}, sweep.mode
    assert sweep.quiet   # and restart() (when given) starts it over before the case's second try
