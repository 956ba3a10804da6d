"""The DHCPv6 server role without a network: requests built with Scapy, replies read
back with Scapy's own DHCPv6 dissector (an oracle that is not ours), RFC 8415's
rules in the bindings table, and dhcp6c's log read as events."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_Advertise,
    DHCP6_Confirm,
    DHCP6_Decline,
    DHCP6_InfoRequest,
    DHCP6_Rebind,
    DHCP6_Reconf,
    DHCP6_RelayForward,
    DHCP6_RelayReply,
    DHCP6_Release,
    DHCP6_Renew,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DHCP6OptAuth,
    DHCP6OptClientId,
    DHCP6OptDNSServers,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIAAddress,
    DHCP6OptIAPrefix,
    DHCP6OptIfaceId,
    DHCP6OptOptReq,
    DHCP6OptRapidCommit,
    DHCP6OptReconfAccept,
    DHCP6OptReconfMsg,
    DHCP6OptRelayMsg,
    DHCP6OptServerId,
    DHCP6OptStatusCode,
)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from scapy_dhcp_ext import UsageError
from scapy_dhcp_ext.lab.clients6 import dhcp6c_events
from scapy_dhcp_ext.link.reader import Reader
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.link.transport6 import Transport6
from scapy_dhcp_ext.roles.answer6 import Config6
from scapy_dhcp_ext.roles.leases6 import OFFER_HOLD, Bindings6, Pools6
from scapy_dhcp_ext.roles.serve6 import serve6
from scapy_dhcp_ext.roles.server6 import Dhcp6Server
from scapy_dhcp_ext.state.endpoint import Endpoint
from scapy_dhcp_ext.wire.dhcp6 import duid_ll, link_local
from tests.support.fakes import FakeSocket

SERVER_MAC = "02:53:00:00:00:01"
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
SERVER_LL = link_local(SERVER_MAC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def server(clock: Clock | None = None, pool: str = "fd77::100-fd77::101", **config) -> tuple[Dhcp6Server, FakeSocket]:
    sock = FakeSocket(lambda _f: [])
    ep = Endpoint(transport=Transport("fake0", sock=FakeSocket(lambda _f: [])), mac=SERVER_MAC, state_file=False)
    ep._transport6 = Transport6("fake0", sock=sock)
    pools = Pools6.parse(pool, pd="fd77:2::/48", pd_length=56)
    options = config.pop("options", {23: bytes.fromhex("fd770000000000000000000000000053")})
    srv = Dhcp6Server(ep, pools, Config6(options=options, **config), clock=clock or Clock())
    return srv, sock


def frame(msg, mac: str = A, dst: str = "ff02::1:2", src: str | None = None, sport: int = 546) -> bytes:
    return bytes(Ether(src=mac, dst="33:33:00:01:00:02") / IPv6(src=src or link_local(mac), dst=dst)
                 / UDP(sport=sport, dport=547) / msg)


def cid(mac: str = A):
    return DHCP6OptClientId(duid=DUID_LL(lladdr=mac))


def sid(mac: str = SERVER_MAC):
    return DHCP6OptServerId(duid=DUID_LL(lladdr=mac))


def answered(srv: Dhcp6Server, sock: FakeSocket, raw: bytes):
    before = len(sock.sent)
    srv.handle(raw)
    sent = sock.sent[before:]
    assert len(sent) <= 1, sent
    return Ether(sent[0]) if sent else None


def solicit(mac: str = A, *extra, trid: int = 0x123456):
    msg = (DHCP6_Solicit(trid=trid) / cid(mac) / DHCP6OptElapsedTime() / DHCP6OptOptReq(reqopts=[23])
           / DHCP6OptIA_NA(iaid=1) / DHCP6OptIA_PD(iaid=2))
    for option in extra:
        msg = msg / option
    return frame(msg, mac)


def request(mac: str = A, address: str = "fd77::100", trid: int = 0x222222, *extra):
    msg = (DHCP6_Request(trid=trid) / cid(mac) / sid() / DHCP6OptElapsedTime()
           / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr=address)]) / DHCP6OptIA_PD(iaid=2))
    for option in extra:
        msg = msg / option
    return frame(msg, mac)


def status(pkt) -> int | None:
    """The message's own status code (not an IA's), as Scapy reads it: its top-level options."""
    layer = pkt[UDP].payload.payload
    while layer:
        if isinstance(layer, DHCP6OptStatusCode):
            return layer.statuscode
        layer = layer.payload
    return None


# -- SOLICIT, REQUEST (RFC 8415 18.3.1, 18.3.2) ------------------------------------

def test_a_solicit_gets_an_advertise_with_an_address_a_prefix_and_the_dns_it_asked_for():
    srv, sock = server()
    got = answered(srv, sock, solicit())
    assert got is not None and DHCP6_Advertise in got
    assert (got[Ether].dst, got[IPv6].src, got[IPv6].dst) == (A, SERVER_LL, link_local(A))
    assert (got[UDP].sport, got[UDP].dport, got[DHCP6_Advertise].trid) == (547, 546, 0x123456)
    assert got[DHCP6OptServerId].duid.lladdr == SERVER_MAC and got[DHCP6OptClientId].duid.lladdr == A
    assert got[DHCP6OptIA_NA].iaid == 1 and got[DHCP6OptIAAddress].addr == "fd77::100"
    assert (got[DHCP6OptIA_NA].T1, got[DHCP6OptIA_NA].T2) == (1350, 2160)   # half and 0.8 of 2700
    assert (got[DHCP6OptIAAddress].preflft, got[DHCP6OptIAAddress].validlft) == (2700, 3600)
    assert got[DHCP6OptIAPrefix].prefix == "fd77:2::" and got[DHCP6OptIAPrefix].plen == 56
    assert got[DHCP6OptDNSServers].dnsservers == ["fd77::53"]
    assert [b.state for b in srv.leases] == ["offered", "offered"]
    # a client that did not ask for DNS servers gets none
    plain = frame(DHCP6_Solicit(trid=9) / DHCP6OptClientId(duid=DUID_LL(lladdr=B)) / DHCP6OptIA_NA(iaid=1), B)
    assert DHCP6OptDNSServers not in answered(srv, sock, plain)


def test_a_request_binds_and_the_same_client_gets_the_same_address_after_release():
    srv, sock = server()
    answered(srv, sock, solicit())
    got = answered(srv, sock, request())
    assert DHCP6_Reply in got and got[DHCP6_Reply].trid == 0x222222
    assert got[DHCP6OptIAAddress].addr == "fd77::100" and got[DHCP6OptIAPrefix].prefix == "fd77:2::"
    assert sorted(b.state for b in srv.leases) == ["bound", "bound"]
    assert srv.wait_lease("PD", timeout=0.1).text == "fd77:2::/56"
    rel = frame(DHCP6_Release(trid=5) / cid() / sid()
                / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd77::100")]))
    got = answered(srv, sock, rel)
    assert DHCP6_Reply in got and status(got) == 0
    assert [b.state for b in srv.leases if b.kind == "NA"] == ["released"]
    answered(srv, sock, solicit(B))       # another client takes the other address, not the released one
    assert answered(srv, sock, request(A, "fd77::1ff"))[DHCP6OptIAAddress].addr == "fd77::100"
    renew = frame(DHCP6_Renew(trid=6) / cid() / sid() / DHCP6OptIA_NA(iaid=7))
    got = answered(srv, sock, renew)   # RELEASE freed it; an IA it never held: NoBinding (18.3.4)
    assert got[DHCP6OptIA_NA].iaid == 7 and got[DHCP6OptIA_NA][DHCP6OptStatusCode].statuscode == 3


def test_rapid_commit_only_when_configured_and_asked():
    srv, sock = server()
    got = answered(srv, sock, solicit(A, DHCP6OptRapidCommit()))
    assert DHCP6_Advertise in got and DHCP6OptRapidCommit not in got
    srv, sock = server(rapid_commit=True)
    assert DHCP6_Advertise in answered(srv, sock, solicit(A))
    got = answered(srv, sock, solicit(B, DHCP6OptRapidCommit()))
    assert DHCP6_Reply in got and DHCP6OptRapidCommit in got
    assert [b.state for b in srv.leases if b.mac == B] == ["bound", "bound"]


def test_what_section_16_says_a_server_drops_is_dropped_with_why():
    srv, sock = server()
    other = DHCP6OptServerId(duid=DUID_LL(lladdr="02:99:00:00:00:01"))
    cases = {
        "with a Server Identifier (16.2)": frame(DHCP6_Solicit(trid=1) / cid() / sid() / DHCP6OptIA_NA(iaid=1)),
        "SOLICIT without a Client Identifier": frame(DHCP6_Solicit(trid=2) / DHCP6OptIA_NA(iaid=1)),
        "REQUEST without a Server Identifier": frame(DHCP6_Request(trid=3) / cid() / DHCP6OptIA_NA(iaid=1)),
        "REQUEST for another server": frame(DHCP6_Request(trid=4) / cid() / other / DHCP6OptIA_NA(iaid=1)),
        "REBIND with a Server Identifier (16.7)": frame(DHCP6_Rebind(trid=5) / cid() / sid()),
        "DECLINE without an IA_NA": frame(DHCP6_Decline(trid=6) / cid() / sid()),
    }
    for why, raw in cases.items():
        assert answered(srv, sock, raw) is None, why
        assert why in srv.log[-1].note, (why, srv.log[-1].note)
    bad = bytearray(solicit())
    bad[-1] ^= 0xFF   # one byte changed after the checksum was computed
    assert answered(srv, sock, bytes(bad)) is None and "bad UDP checksum" in srv.log[-1].note


def test_unicast_without_the_server_unicast_option_gets_usemulticast():
    srv, sock = server()
    answered(srv, sock, solicit())
    raw = frame(DHCP6_Request(trid=7) / cid() / sid() / DHCP6OptIA_NA(iaid=1), dst=SERVER_LL)
    got = answered(srv, sock, raw)
    assert DHCP6_Reply in got and status(got) == 5 and DHCP6OptIA_NA not in got   # UseMulticast (18.4)
    assert "UseMulticast" in srv.log[-2].note


def test_renew_and_rebind_extend_what_the_client_holds_and_zero_what_it_does_not():
    clock = Clock()
    srv, sock = server(clock)
    answered(srv, sock, solicit())
    answered(srv, sock, request())
    clock.now += 1000
    renew = frame(DHCP6_Renew(trid=8) / cid() / sid()
                  / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd77::100")]))
    got = answered(srv, sock, renew)
    assert got[DHCP6OptIAAddress].validlft == 3600
    assert [b.expires for b in srv.leases if b.kind == "NA"] == [clock.now + 3600]
    rebind = frame(DHCP6_Rebind(trid=9) / cid()
                   / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd99::1")]))
    got = answered(srv, sock, rebind)   # not ours: lifetimes 0 so that it stops using it (18.3.5)
    assert got[DHCP6OptIAAddress].addr == "fd99::1" and got[DHCP6OptIAAddress].validlft == 0


def test_decline_holds_the_address_back_and_confirm_judges_the_link():
    srv, sock = server()
    answered(srv, sock, solicit())
    answered(srv, sock, request())
    dec = frame(DHCP6_Decline(trid=10) / cid() / sid()
                / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd77::100")]))
    assert status(answered(srv, sock, dec)) == 0
    answered(srv, sock, solicit(B))
    assert answered(srv, sock, request(B, "fd77::100"))[DHCP6OptIAAddress].addr == "fd77::101"
    confirm = DHCP6_Confirm(trid=11) / cid() / DHCP6OptElapsedTime()
    on = confirm / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="fd77::1:2")])
    off = confirm / DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr="2001:db8::1")])
    assert status(answered(srv, sock, frame(on))) == 0
    assert status(answered(srv, sock, frame(off))) == 4   # NotOnLink
    assert answered(srv, sock, frame(confirm)) is None and "no reply" in srv.log[-1].note


def test_information_request_gets_options_and_no_ia():
    srv, sock = server()
    got = answered(srv, sock, frame(DHCP6_InfoRequest(trid=12) / cid() / DHCP6OptOptReq(reqopts=[23])))
    assert DHCP6_Reply in got and DHCP6OptDNSServers in got and DHCP6OptIA_NA not in got


def test_a_relayed_solicit_is_answered_in_nested_relay_replies_with_interface_ids_echoed():
    srv, sock = server()
    inner = DHCP6_Solicit(trid=13) / cid() / DHCP6OptIA_NA(iaid=1)
    first = DHCP6_RelayForward(hopcount=0, linkaddr="fd77::1", peeraddr=link_local(A)) / \
        DHCP6OptIfaceId(ifaceid=b"port-1") / DHCP6OptRelayMsg(message=inner)
    second = DHCP6_RelayForward(hopcount=1, linkaddr="::", peeraddr="fd77::1") / \
        DHCP6OptIfaceId(ifaceid=b"uplink") / DHCP6OptRelayMsg(message=first)
    got = answered(srv, sock, frame(second, B, src="fd77::2", sport=547))
    assert (got[IPv6].dst, got[UDP].dport, got[Ether].dst) == ("fd77::2", 547, B)
    outer = got[DHCP6_RelayReply]
    assert (outer.hopcount, outer.peeraddr, outer[DHCP6OptIfaceId].ifaceid) == (1, "fd77::1", b"uplink")
    nested = outer[DHCP6OptRelayMsg].message
    assert isinstance(nested, DHCP6_RelayReply) and nested.peeraddr == link_local(A)
    assert nested[DHCP6OptIfaceId].ifaceid == b"port-1"
    adv = nested[DHCP6OptRelayMsg].message
    assert isinstance(adv, DHCP6_Advertise) and adv.trid == 13 and adv[DHCP6OptIAAddress].addr == "fd77::100"


def test_relays_nested_past_the_hop_count_limit_are_dropped():
    from scapy_dhcp_ext.wire.messages6 import Relay6

    srv, sock = server()
    msg = bytes(DHCP6_Solicit(trid=14) / cid() / DHCP6OptIA_NA(iaid=1))
    for depth in range(33):   # built by our own relay (Scapy takes exponential time over deep nesting)
        msg = Relay6(link_address="fd77::1", hop_count=depth).wrap(msg, "fe80::1")
    assert answered(srv, sock, frame(Raw(msg), B, src="fd77::2", sport=547)) is None
    assert "nested 33 deep" in srv.log[-1].note


def test_refuse_puts_a_status_in_the_next_reply_only():
    srv, sock = server()
    answered(srv, sock, solicit())
    srv.refuse("NoAddrsAvail", "go away")
    got = answered(srv, sock, request())
    assert status(got) == 2 and DHCP6OptIAAddress not in got
    assert got[DHCP6OptIA_NA][DHCP6OptStatusCode].statuscode == 2
    assert DHCP6OptIAAddress in answered(srv, sock, request(trid=0x333333))
    with pytest.raises(UsageError, match="unknown status"):
        srv.refuse("Nope")


def test_a_client_that_accepts_reconfigure_gets_a_key_and_a_signed_reconfigure():
    srv, sock = server()
    answered(srv, sock, solicit())
    got = answered(srv, sock, request(A, "fd77::100", 0x444444, DHCP6OptReconfAccept()))
    auth = got[DHCP6OptAuth]
    assert (auth.proto, auth.alg, auth.rdm) == (3, 1, 0) and auth.authinfo[0] == 1
    key = auth.authinfo[1:17]
    before = len(sock.sent)
    assert srv.reconfigure(kind="renew") == 1
    raw = sock.sent[before]
    pkt = Ether(raw)
    assert DHCP6_Reconf in pkt and pkt[DHCP6_Reconf].trid == 0 and pkt[DHCP6OptReconfMsg].msgtype == 5
    assert pkt[IPv6].dst == link_local(A) and pkt[Ether].dst == A
    message = bytes(pkt[DHCP6_Reconf])
    digest = message[-16:]
    assert hmac.new(key, message[:-16] + bytes(16), hashlib.md5).digest() == digest
    assert srv.reconfigure(kind="rebind", authenticated=False) == 1
    assert DHCP6OptAuth not in Ether(sock.sent[-1])


# -- the bindings (pure) -----------------------------------------------------------

def test_a_full_pool_takes_back_the_oldest_offer_and_restores_what_the_lease_file_keeps():
    clock = Clock()
    table = Bindings6(Pools6.parse("fd77::100-fd77::101"), clock=clock)
    a = table.assign("aa", 1, "NA", commit=False)
    clock.now += 1
    b = table.assign("bb", 1, "NA", commit=True)
    assert (a.address, b.address) == ("fd77::100", "fd77::101")
    c = table.assign("cc", 1, "NA", commit=False)
    assert c is not None and c.address == "fd77::100" and table.taken_back == [a]
    clock.now += OFFER_HOLD + 1
    assert table.assign("dd", 1, "NA", commit=True).address == "fd77::100"   # c's offer ran out
    assert table.assign("ee", 1, "NA", commit=False) is None     # only bound ones left: refused
    assert table.release("dd", 1, "NA", "fd77::100")
    assert table.assign("ff", 1, "NA", commit=False).address == "fd77::100"
    again = Bindings6(Pools6.parse("fd77::100-fd77::101"), clock=clock)
    kept = [vars(b).copy() for b in table if b.state != "offered"]   # as the lease file keeps them
    assert again.restore(kept + [{"kind": "NA"}, "junk"])[0] == 1   # offers are not kept
    assert [(x.address, x.duid, x.state) for x in again] == [("fd77::101", "bb", "bound")]


def test_pools_parse_ranges_networks_and_say_what_is_wrong():
    p = Pools6.parse("fd77::/64", pd="fd77:1::/48", pd_length=60)
    assert str(p) == "fd77::100-fd77::ffff:ffff:ffff:ffff, prefixes /60 from fd77:1::/48"
    assert p.on_link("fd77::5") and not p.on_link("fd78::5")
    assert list(p.prefixes())[:2] == ["fd77:1::", "fd77:1:0:10::"]
    for bad, why in (("fd77::9-fd77::1", "ends before"), ("fd77::1-fd78::1", "more than one /64"),
                     ("nonsense", "not an IPv6")):
        with pytest.raises(ValueError, match=why):
            Pools6.parse(bad)
    with pytest.raises(ValueError, match="pd_length"):
        Pools6.parse(None, pd="fd77:1::/48", pd_length=40)


def test_serve6_starts_only_on_a_named_interface_and_with_sane_lifetimes():
    ep = Endpoint(transport=Transport("fake0", sock=FakeSocket(lambda _f: [])), mac=SERVER_MAC, state_file=False)
    ep.named = False
    with pytest.raises(UsageError, match="named for this run"):
        serve6(ep)
    ep.named = True
    with pytest.raises(UsageError, match="preferred"):
        serve6(ep, preferred=100, valid=50)
    with pytest.raises(UsageError, match="not an IPv6"):
        serve6(ep, "nonsense")


def test_the_server_duid_is_the_macs_link_layer_duid():
    srv, _sock = server()
    assert srv.duid == duid_ll(SERVER_MAC) and srv.address == SERVER_LL


# -- dhcp6c's log as events ----------------------------------------------------------

DHCP6C_LOG = """Dec/06/2026 19:45:35: dhcp6_reset_timer: reset a timer on eth0, state=REQUEST, timeo=0, retrans=910
Dec/06/2026 19:45:35: client6_recv: receive reply from fe80::494:1eff:fe5a:6ef1%eth0 on eth0
Dec/06/2026 19:45:35: dhcp6_get_options: get DHCP option server ID, len 10
Dec/06/2026 19:45:35:   DUID: 00:03:00:01:06:94:1e:5a:6e:f1
Dec/06/2026 19:45:35:   IA_NA: ID=1, T1=1350, T2=2160
Dec/06/2026 19:45:35: info_printf: nameserver[0] fd77::53
Dec/06/2026 19:45:35: update_prefix: create a prefix fd77:2::/56 pltime=2700, vltime=3600
Dec/06/2026 19:45:35: update_address: create an address fd77::100 pltime=2700, vltime=3600
Dec/06/2026 19:45:35: client6_recvreply: got an expected reply, sleeping.
Dec/06/2026 19:45:37: dhcp6_reset_timer: reset a timer on eth0, state=RENEW, timeo=0, retrans=10000
Dec/06/2026 19:45:37: client6_recv: receive reply from fe80::494:1eff:fe5a:6ef1%eth0 on eth0
Dec/06/2026 19:45:37: update_address: update an address fd77::100 pltime=2700, vltime=3600
Dec/06/2026 19:45:37: client6_recvreply: got an expected reply, sleeping.
Dec/06/2026 19:45:38: client6_recv: receive reply from fe80::494:1eff:fe5a:6ef1%eth0 on eth0
Dec/06/2026 19:45:38: client6_recvreply: status code: no binding
"""


def test_dhcp6cs_log_reads_as_one_event_per_reply_it_took():
    events = dhcp6c_events(DHCP6C_LOG)
    assert [e["event"] for e in events] == ["bound6", "renew6"]
    first = events[0]
    assert (first["ip6"], first["prefix6"], first["serverid6"], first["dns6"]) == \
        ("fd77::100", "fd77:2::/56", "0003000106941e5a6ef1", "fd77::53")
    assert (first["t1"], first["t2"], first["vltime"]) == ("1350", "2160", "3600")
    assert float(events[1]["t"]) - float(first["t"]) == 2


# -- check_server6 over a scripted socket: our server's rules, kept and broken --------------

def checks_against(monkeypatch, *, drop_nothing: bool = False, **config) -> dict[str, str]:
    """check_server6() from a client session whose link is our own Dhcp6Server (over fakes)."""
    from scapy_dhcp_ext import DhcpSession
    from scapy_dhcp_ext.roles import server6 as server6_module
    from scapy_dhcp_ext.wire.frames6 import parse_frame6

    srv, ssock = server(rapid_commit=True, pool="fd77::100-fd77::1ff", **config)
    if drop_nothing:
        monkeypatch.setattr(server6_module, "why_dropped", lambda f, duid: "")

    class Link(FakeSocket):
        def send(self, data: bytes) -> int:
            self.sent.append(bytes(data))
            if parse_frame6(data).dport == 547:
                before = len(ssock.sent)
                srv.handle(data)
                for reply in ssock.sent[before:]:
                    self.inject(reply)
            return len(data)

    session = DhcpSession(transport=Transport("fake0", sock=FakeSocket(lambda _f: [])), mac=A, state_file=False,
                          timeout=0.5)
    session.endpoint._transport6 = Transport6("fake0", sock=Link(lambda _f: []))
    try:
        r = session.v6.check_server(destructive=True, progress=False, quiet=0.2, timeout=0.5)
    finally:
        session.close()
    return {row.id: row.verdict for row in r.rows}


def test_check_server6_passes_a_server_that_keeps_the_rules(monkeypatch):
    got = checks_against(monkeypatch)
    assert {k: v for k, v in got.items() if v != "pass"} == {}, got


def test_check_server6_fails_a_server_that_answers_what_it_must_drop_and_mixes_its_timers(monkeypatch):
    got = checks_against(monkeypatch, drop_nothing=True, t1=3000, t2=1000)
    for check in ("solicit-with-server-id-dropped", "request-for-another-server-dropped",
                  "renew-for-another-server-dropped", "release-for-another-server-dropped",
                  "rebind-with-server-id-dropped", "ia-na-lifetimes-consistent", "ia-pd-lifetimes-consistent"):
        assert got[check] == "fail", (check, got[check])


DHCP6C_LOG_DEBIAN13 = """Dec/06/2026 21:51:05: reset a timer on eth0, state=REQUEST, timeo=0, retrans=1079
Dec/06/2026 21:51:05: receive reply from fe80::c4bb:bdff:fe97:20a%eth0 on eth0
Dec/06/2026 21:51:05:   DUID: 00:03:00:01:c6:bb:bd:97:02:0a
Dec/06/2026 21:51:05:   DUID: 00:01:00:01:32:a8:95:44:02:5c:8a:f2:da:00
Dec/06/2026 21:51:05:   IA_NA: ID=1, T1=1350, T2=2160
Dec/06/2026 21:51:05: nameserver[0] fd77::53
Dec/06/2026 21:51:05: create a prefix fd77:2::/56 pltime=94107028425356, vltime=94102733458960
Dec/06/2026 21:51:05: create an address fd77::100 pltime=2700, vltime=94107028426256
Dec/06/2026 21:51:05: got an expected reply, sleeping.
"""


def test_dhcp6cs_log_as_debian_13_writes_it_reads_the_same():
    # no function names before the words, no option names before the DUIDs (the server's comes first)
    (event,) = dhcp6c_events(DHCP6C_LOG_DEBIAN13)
    assert (event["event"], event["ip6"], event["prefix6"], event["serverid6"]) == \
        ("bound6", "fd77::100", "fd77:2::/56", "00030001c6bbbd97020a")


def test_a_request_past_the_mtu_is_answered_once_its_fragments_are_in():
    """A REBIND that writes 100 addresses back (2.8 KB) comes in two fragments: the addresses go back with
    lifetimes 0 (none is ours: 18.3.5), in one REPLY, once the second fragment is in."""
    from scapy_dhcp_ext.wire.fragments6 import fragment6

    srv, sock = server()
    ia = DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr=f"fd99::{i + 1:x}") for i in range(100)])
    first, second = fragment6(frame(DHCP6_Rebind(trid=0x777777) / cid() / DHCP6OptElapsedTime() / ia), 1500)
    # through the reader, which puts fragments back together before the server sees them
    reader = Reader(-1, lambda _n: [], srv.handle, finish=lambda r: r, answer_arp=lambda _r: False,
                    local_mac=lambda: b"", **srv.endpoint.transport6._reader_rules())
    before = len(sock.sent)
    reader._dispatch(first)
    assert len(sock.sent) == before
    reader._dispatch(second)
    assert len(sock.sent) == before + 1
    reply = Ether(sock.sent[-1])
    assert reply is not None and reply[DHCP6_Reply].trid == 0x777777
    zeroed = [a for a in reply[DHCP6OptIA_NA].ianaopts if isinstance(a, DHCP6OptIAAddress)]
    assert len(zeroed) == 100 and {(a.preflft, a.validlft) for a in zeroed} == {(0, 0)}


def test_the_first_free_address_in_pool_order_after_expiries_and_releases():
    """The table finds free addresses from a cursor, not by walking the pool: what expired or was
    released low in the pool is handed out first, in pool order, and a released address goes to
    another client only when nothing never used is left."""
    clock = Clock()
    table = Bindings6(Pools6.parse("fd77::100-fd77::104", pd=None, pd_length=64), valid=100, clock=clock)
    got = [table.assign(f"c{i}", 1, "NA", commit=True).address for i in range(3)]
    assert got == ["fd77::100", "fd77::101", "fd77::102"]
    assert table.release("c1", 1, "NA", "fd77::101")
    assert table.assign("c3", 1, "NA", commit=True).address == "fd77::103"   # never used, before a released one
    clock.now += 50
    table.extend("c2", 1, "NA", "fd77::102")                                 # c2 and c3 renew; c0 does not
    table.extend("c3", 1, "NA", "fd77::103")
    clock.now += 60
    assert table.assign("c4", 1, "NA", commit=True).address == "fd77::100"   # c0's expired first, in pool order
    assert table.assign("c5", 1, "NA", commit=True).address == "fd77::104"
    assert table.assign("c6", 1, "NA", commit=True).address == "fd77::101"   # released by c1: the last left
    assert table.assign("c7", 1, "NA", commit=True) is None


def test_a_pool_in_the_first_96_bits_is_spelled_as_the_wire_spells_a_clients_hint():
    # ::1:0 reads "::0.1.0.0" off the wire (inet_ntop); the pool once spelled it "::1:0", so a
    # second client that asked for it by name was bound to the first one's address
    from scapy_dhcp_ext.wire.dhcp6 import ip6_bytes, ip6_str

    table = Bindings6(Pools6.parse("::1:0-::1:ff", pd=None), clock=lambda: 1000.0)
    a = table.assign("aa", 1, "NA", commit=True)
    hint = ip6_str(ip6_bytes(a.address))   # what the parser makes of it in the second client's IA_NA
    b = table.assign("bb", 1, "NA", hint=hint, commit=True)
    assert a is not None and b is not None and ip6_bytes(b.address) != ip6_bytes(a.address)
    # a lease file written before keeps "::1:5": read back in the pool's spelling, the client that
    # asks for it by the wire's is known
    again = Bindings6(Pools6.parse("::1:0-::1:ff", pd=None), clock=lambda: 1000.0)
    assert again.restore([{"kind": "NA", "duid": "cc", "iaid": 1, "address": "::1:5", "prefix_len": 128,
                           "state": "bound", "expires": 5000.0}])[0] == 1
    assert [b.address for b in again.held("cc", 1, "NA")] == [ip6_str(ip6_bytes("::1:5"))]
