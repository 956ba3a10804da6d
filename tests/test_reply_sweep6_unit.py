"""sweep_replies6()'s verdicts without a network: a scripted client feeds the sweep's hooks
(every frame it sends through the tap, our server's reply through mutate) and the verdict
follows from what it did: asked again, went on, went quiet and alive, or died."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_Advertise,
    DHCP6_Renew,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptIA_NA,
    DHCP6OptIAAddress,
    DHCP6OptServerId,
)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.link.transport6 import Transport6
from scapy_dhcp_ext.roles.answer6 import Config6
from scapy_dhcp_ext.wire.dhcp6 import duid_ll, link_local
from scapy_dhcp_ext.wire.frames6 import parse_frame6
from scapy_dhcp_ext.workloads.reply_sweep6 import sweep_replies6
from tests.support.fakes import FakeSocket

SERVER, CLIENT = "02:53:00:00:00:01", "02:00:00:00:00:0a"


def from_client(msg) -> bytes:
    return bytes(Ether(src=CLIENT, dst="33:33:00:01:00:02") / IPv6(src=link_local(CLIENT), dst="ff02::1:2")
                 / UDP(sport=546, dport=547) / (msg / DHCP6OptClientId(duid=DUID_LL(lladdr=CLIENT))))


def to_client(msg) -> bytes:
    ia = DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd77::100")])
    body = msg / DHCP6OptClientId(duid=DUID_LL(lladdr=CLIENT)) / DHCP6OptServerId(duid=DUID_LL(lladdr=SERVER)) / ia
    return bytes(Ether(src=SERVER, dst=CLIENT) / IPv6(src=link_local(SERVER), dst=link_local(CLIENT))
                 / UDP(sport=547, dport=546) / body)


class Server:
    """What the sweep uses of serve6(): its hooks, its config, RECONFIGURE, its log."""

    def __init__(self, t2: int) -> None:
        self.duid = duid_ll(SERVER)
        self.address = link_local(SERVER)
        self.config = Config6(preferred=t2 + 2, valid=t2 + 4, t1=t2 // 2, t2=t2, preference=255)
        self.log: list = []
        self.reconfigured: list[str] = []
        self.mutate = self.tap = None

    def attach(self, _observe, mutate, tap) -> None:
        self.mutate, self.tap = mutate, tap

    def detach(self) -> None:
        self.mutate = self.tap = None

    def stop(self) -> None:
        pass

    def reconfigure(self, device, *, kind, authenticated) -> int:
        assert kind == "renew" and not authenticated
        self.reconfigured.append(device)
        self.log.append(SimpleNamespace(raw=b"RECONFIGURE", time=time.time()))
        return 1


class Session:
    def __init__(self, t2: int = 4) -> None:
        self.endpoint = SimpleNamespace(mac_bytes=bytes.fromhex("025300000001"), notes={}, save=lambda: None,
                                        transport6=SimpleNamespace(local_macs=set()))
        self.server = None
        self.last = None
        self.fake = Server(t2)

    def serve(self, *, before_start, **_kw):
        before_start(self.fake)
        return self.fake


class Run:
    """A sweep on its own thread, and the scripted client's moves."""

    def __init__(self, cases, *, alive=True, restart=None, t2: int = 4, comeback: float | None = None) -> None:
        self.session = Session(t2)
        self.alive = alive
        self.report = None
        self.comeback = comeback
        self.thread = threading.Thread(target=self._run, args=(cases, restart), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while self.session.fake.tap is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self, cases, restart) -> None:
        self.report = sweep_replies6(self.session, cases, device_mac=CLIENT, retry=1.0, margin=0.2,
                                     probe=lambda: self.alive, restart=restart, progress=False, comeback=self.comeback)

    def send(self, msg) -> bytes:
        raw = from_client(msg)
        tap = self.session.fake.tap   # read once: a sweep that just ended has taken it off
        if tap is not None:
            tap(raw)
        return raw

    def answer(self, request: bytes, reply_msg):
        """Our server's reply to ``request`` through the sweep's hook: what goes instead."""
        return self.session.fake.mutate(parse_frame6(request), to_client(reply_msg))

    def done(self, timeout: float = 20.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sweep did not end"
        return self.report


def test_an_advertise_case_that_the_client_drops_is_rejected_when_it_asks_again():
    run = Run(["advertise-no-server-id"])
    solicit = run.send(DHCP6_Solicit(trid=7))
    hostile = run.answer(solicit, DHCP6_Advertise(trid=7))
    assert isinstance(hostile, list) and DHCP6OptServerId not in IPv6(hostile[0][14:])
    run.send(DHCP6_Solicit(trid=7))
    r = run.done()
    assert [(x.name, x.verdict) for x in r.rows] == [("advertise-no-server-id", "rejected")]
    assert "asked again" in r.rows[0].why and r.rows[0].hostile == hostile


def test_an_advertise_case_it_requests_on_is_accepted_and_the_device_restarted_after():
    restarts = []
    run = Run(["advertise-wrong-xid", "advertise-flood"], restart=lambda: restarts.append(1))
    solicit = run.send(DHCP6_Solicit(trid=9))
    run.answer(solicit, DHCP6_Advertise(trid=9))
    run.send(DHCP6_Request(trid=10))
    deadline = time.monotonic() + 5
    while not restarts and time.monotonic() < deadline:
        time.sleep(0.02)
    assert restarts, "a client waiting on its REQUEST is restarted for the next case"
    solicit = run.send(DHCP6_Solicit(trid=11))
    flood = run.answer(solicit, DHCP6_Advertise(trid=11))
    assert len(flood) == 200
    run.send(DHCP6_Solicit(trid=11))
    r = run.done()
    assert [(x.name, x.verdict, x.unexpected) for x in r.rows] == [
        ("advertise-wrong-xid", "accepted", True), ("advertise-flood", "rejected", True)]


def test_silence_and_a_failed_probe_is_dead_and_without_restart_the_sweep_stops():
    run = Run(["advertise-status-64k", "advertise-flood"], alive=False)
    solicit = run.send(DHCP6_Solicit(trid=3))
    run.answer(solicit, DHCP6_Advertise(trid=3))
    r = run.done()
    assert [(x.name, x.verdict) for x in r.rows] == [("advertise-status-64k", "dead")]
    assert r.killer is r.rows[0] and "the device died" in r.stopped and [c.name for c in r.remaining] == \
        ["advertise-flood"]
    assert "probe failed" in r.rows[0].why


def test_a_quiet_client_after_a_reply_case_is_accepted_when_alive_and_dead_only_past_t2():
    run = Run(["reply-boot-file-url-shell"])
    solicit = run.send(DHCP6_Solicit(trid=5))
    assert run.answer(solicit, DHCP6_Advertise(trid=5)) is not None   # the valid ADVERTISE goes
    request = run.send(DHCP6_Request(trid=6))
    assert b"$(reboot)" in b"".join(run.answer(request, DHCP6_Reply(trid=6)))
    r = run.done()
    assert r.rows[0].verdict == "accepted" and "alive" in r.rows[0].why

    run = Run(["reply-boot-file-url-shell"], alive=False, t2=3)
    solicit = run.send(DHCP6_Solicit(trid=5))
    run.answer(solicit, DHCP6_Advertise(trid=5))
    request = run.send(DHCP6_Request(trid=6))
    sent = time.monotonic()
    run.answer(request, DHCP6_Reply(trid=6))
    r = run.done()
    assert r.rows[0].verdict == "dead" and "past T2" in r.rows[0].why
    assert time.monotonic() - sent >= 3, "a device that may be bound is waited for until T2"


def test_a_reply_case_it_requests_again_on_is_rejected():
    run = Run(["reply-wrong-xid"])
    solicit = run.send(DHCP6_Solicit(trid=1))
    run.answer(solicit, DHCP6_Advertise(trid=1))
    request = run.send(DHCP6_Request(trid=2))
    run.answer(request, DHCP6_Reply(trid=2))
    run.send(DHCP6_Request(trid=2))
    r = run.done()
    assert r.rows[0].verdict == "rejected" and "retransmitted" in r.rows[0].why


@pytest.mark.parametrize("renew_after, verdict", [(0.3, "accepted"), (None, "ignored")])
def test_an_unauthenticated_reconfigure_is_accepted_only_when_a_renew_follows_at_once(renew_after, verdict):
    run = Run(["bound-reconfigure-unauthenticated"], t2=8)
    solicit = run.send(DHCP6_Solicit(trid=1))
    run.answer(solicit, DHCP6_Advertise(trid=1))
    request = run.send(DHCP6_Request(trid=2))
    assert run.answer(request, DHCP6_Reply(trid=2)) is not None   # the valid REPLY: bound
    deadline = time.monotonic() + 5
    while not run.session.fake.reconfigured and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.session.fake.reconfigured == [CLIENT]
    if renew_after is not None:
        time.sleep(renew_after)
        run.send(DHCP6_Renew(trid=3))
    r = run.done()
    assert r.rows[0].verdict == verdict and r.rows[0].unexpected == (verdict == "accepted")


def test_a_request_too_big_for_the_link_counts_once_its_fragments_are_in():
    """The client writes the 100 addresses back into its REQUEST (CVE-2018-15688's class): 2.8 KB in two fragments."""
    from scapy_dhcp_ext.wire.fragments6 import fragment6

    run = Run(["advertise-many-addresses"])
    solicit = run.send(DHCP6_Solicit(trid=4))
    run.answer(solicit, DHCP6_Advertise(trid=4))
    ia = DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr=f"fd77::{0x1000 + i:x}") for i in range(100)])
    first, second = fragment6(from_client(DHCP6_Request(trid=5) / ia), 1500)
    # what the v6 reader hands the tap: each fragment as it came, then the whole frame once it is in
    whole = Transport6("fake0", sock=FakeSocket(lambda _f: []))._reader_rules()["reassemble"]
    run.session.fake.tap(first)
    assert whole(first) is None
    assert run.report is None and run.thread.is_alive()
    run.session.fake.tap(second)
    run.session.fake.tap(whole(second))
    r = run.done()
    assert r.rows[0].verdict == "accepted" and "REQUEST" in r.rows[0].why


def test_a_client_that_solicits_again_after_our_valid_advertise_is_restarted_then_the_case_skipped():
    """Preference 255: a client that took the valid ADVERTISE REQUESTs at once. One that SOLICITs again
    (dhcpcd with its receive path stuck after a flood) is restarted, not waited for as it backs off."""
    restarts = []
    run = Run(["reply-wrong-xid"], restart=lambda: restarts.append(1))
    for trid, tries in ((1, 1), (2, 2)):
        solicit = run.send(DHCP6_Solicit(trid=trid))
        assert run.answer(solicit, DHCP6_Advertise(trid=trid)) is not None
        run.send(DHCP6_Solicit(trid=trid))
        deadline = time.monotonic() + 5
        while len(restarts) < tries and run.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
    r = run.done()
    assert len(restarts) >= 1 and r.rows[0].verdict == "skipped" and "SOLICITed again" in r.rows[0].why


def test_a_case_whose_client_talks_outside_its_exchange_is_tried_again_then_skipped_not_held():
    """A client that left the case's exchange (a reboot of its own) but keeps talking inside the
    silence window held the case for ever (the v4 sweep did, 20 minutes in the verdict soak): past
    the comeback time it is tried again, then skipped."""
    run = Run(["reply-wrong-xid"], comeback=2.0)
    trids = iter(range(10, 10000))
    deadline = time.monotonic() + 30
    for _attempt in (1, 2):
        while True:   # SOLICITs, each of a new exchange, every 0.3 s: never silent
            trid = next(trids)
            if run.answer(run.send(DHCP6_Solicit(trid=trid)), DHCP6_Advertise(trid=trid)) is not None:
                break   # the case began (again): our valid ADVERTISE went
            assert time.monotonic() < deadline, "the case was held"
            time.sleep(0.3)
        run.send(DHCP6_Request(trid=trid))   # our REPLY to it never goes (not passed to the hook)
    while run.thread.is_alive() and time.monotonic() < deadline:
        run.send(DHCP6_Solicit(trid=next(trids)))
        time.sleep(0.3)
    r = run.done(timeout=5.0)
    assert [(x.name, x.verdict) for x in r.rows] == [("reply-wrong-xid", "skipped")], r
    assert "did not go on after our valid ADVERTISE, twice" in r.rows[0].why
