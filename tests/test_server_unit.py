"""The server role without a network: the pool, RFC 2131's rules, the replies'
addressing (read back with Scapy's own dissector), and the handle's hooks."""

from __future__ import annotations

import time

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext import DhcpSession, DhcpTimeout, UsageError
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.roles.leases4 import Ask, LeaseTable, Pool
from scapy_dhcp_ext.roles.malformed4 import ODD_ALL, ODD_BURST, ODD_RATE, UNREAD, OddBudget, kind_of
from scapy_dhcp_ext.roles.server4 import DhcpServer
from scapy_dhcp_ext.state.endpoint import Endpoint
from scapy_dhcp_ext.wire import DECLINE, DISCOVER, INFORM, RELEASE, REQUEST
from scapy_dhcp_ext.wire.frames4 import Frame, parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from tests.support.fakes import FakeSocket

A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def options(raw: bytes) -> dict:
    """The reply's options as Scapy reads them (an oracle that is not ours)."""
    return {o[0]: o[1:] if len(o) > 2 else o[1] for o in Ether(raw)[DHCP].options if isinstance(o, tuple)}


# -- the pool ---------------------------------------------------------------

def test_a_pool_is_a_range_or_a_network_and_never_holds_the_server():
    p = Pool.parse("10.0.0.100-10.0.0.199")
    assert (str(p), str(p.network), p.server_ip, p.size) == ("10.0.0.100-10.0.0.199", "10.0.0.0/24", "10.0.0.1", 100)
    p = Pool.parse("10.0.0.0/24")
    assert (str(p), p.server_ip, p.size) == ("10.0.0.2-10.0.0.254", "10.0.0.1", 253)
    p = Pool.parse(None)
    assert str(p.network) == "10.77.0.0/24" and p.server_ip == "10.77.0.1"
    p = Pool.parse(None, iface_address="192.168.5.9/24")
    assert str(p.network) == "192.168.5.0/24" and p.server_ip == "192.168.5.9" and "192.168.5.9" not in p
    assert Pool.parse("10.0.0.0/24", server_ip="10.0.0.50").size == 253
    for bad in ("10.0.0.9-10.0.0.1", "10.0.0.0/33", "nonsense"):
        with pytest.raises(ValueError, match="give a range"):
            Pool.parse(bad)
    with pytest.raises(ValueError, match="not in the pool's network"):
        Pool.parse("10.0.0.0/24", server_ip="10.9.9.9")


# -- the rules (RFC 2131 4.3) ---------------------------------------------------

def table(spec: str = "10.0.0.100-10.0.0.102", clock: Clock | None = None) -> LeaseTable:
    return LeaseTable(Pool.parse(spec), lease_time=60, clock=clock or Clock())


def test_discover_offers_a_free_address_and_the_same_one_again():
    t = table()
    first = t.discover(Ask(A))
    assert (first.kind, first.address) == ("OFFER", "10.0.0.100")
    assert t.discover(Ask(A)).address == "10.0.0.100"
    assert t.discover(Ask(B, requested="10.0.0.102")).address == "10.0.0.102"   # asked for, and free
    assert t.discover(Ask("02:00:00:00:00:0c", requested="10.0.0.100")).address == "10.0.0.101"  # taken
    # An address only offered is no binding: a later DISCOVER's requested address comes first (4.3.1).
    t = table("10.0.0.100-10.0.0.104")
    assert t.discover(Ask(B)).address == "10.0.0.100"
    assert t.discover(Ask(B, requested="10.0.0.103")).address == "10.0.0.103"
    t.request(Ask(B, server_id="10.0.0.1", requested="10.0.0.103"))
    assert t.discover(Ask(B, requested="10.0.0.104")).address == "10.0.0.103"   # a binding comes first


def test_an_exhausted_pool_is_silence_with_a_message():
    t = table("10.0.0.100-10.0.0.101")
    for mac in (A, B):
        offer = t.discover(Ask(mac))
        assert t.request(Ask(mac, server_id="10.0.0.1", requested=offer.address)).kind == "ACK"
    d = t.discover(Ask("02:00:00:00:00:0c"))
    assert d.kind == "" and "exhausted" in d.note and "02:00:00:00:00:0c" in d.note


def test_pool_pressure_takes_back_the_oldest_offer_nobody_requested():
    """A full pool of offers (a burst of new MACs) leaves room for the next client: the oldest offer that
    was never requested goes back first, said in the decision's note; a binding is never taken back."""
    clock = Clock()
    t = table("10.0.0.100-10.0.0.103", clock)
    first = t.discover(Ask(A))
    t.request(Ask(A, server_id="10.0.0.1", requested=first.address))   # A is bound: never taken back
    offers = []
    for i in range(3):
        clock.now += 1
        offers.append(t.discover(Ask(f"02:00:00:00:01:{i:02x}")).address)
    clock.now += 1
    d = t.discover(Ask(B))
    assert d.kind == "OFFER" and d.address == offers[0], d
    assert d.note == f"pool full: took back {offers[0]}, offered to 02:00:00:00:01:00 3.0 s ago and never requested"
    late = t.request(Ask("02:00:00:00:01:00", server_id="10.0.0.1", requested=offers[0]))
    assert late.kind == "NAK"   # its offer went to B: it starts over
    assert t.request(Ask(B, server_id="10.0.0.1", requested=d.address)).kind == "ACK"
    assert {x.address: x.state for x in t}[first.address] == "bound"


def test_request_in_each_state():
    t = table()
    offer = t.discover(Ask(A))
    # SELECTING: another server chosen -> silent, our offer freed
    d = t.request(Ask(A, server_id="10.0.0.9", requested=offer.address))
    assert d.kind == "" and "chose server 10.0.0.9" in d.note and t.mine(Ask(A)).state == "released"
    t.discover(Ask(A))
    assert t.request(Ask(A, server_id="10.0.0.1", requested="10.0.0.101")).kind == "NAK"   # not what we offered
    d = t.request(Ask(A, server_id="10.0.0.1", requested="10.0.0.100"))
    assert (d.kind, d.address, d.state) == ("ACK", "10.0.0.100", "SELECTING")
    # INIT-REBOOT
    assert t.request(Ask(A, requested="192.168.1.5")).kind == "NAK"                      # wrong network
    assert t.request(Ask(A, requested="10.0.0.100")).kind == "ACK"
    silent = t.request(Ask(B, requested="10.0.0.101"))
    assert silent.kind == "" and "no record" in silent.note                                # MUST be silent
    assert t.request(Ask(B, requested="10.0.0.100")).kind == ""                            # no record of B either
    # RENEWING (unicast) and REBINDING (broadcast)
    d = t.request(Ask(A, ciaddr="10.0.0.100", unicast=True))
    assert (d.kind, d.state) == ("ACK", "RENEWING")
    assert t.request(Ask(A, ciaddr="10.0.0.100")).state == "REBINDING"
    assert t.request(Ask(B, ciaddr="10.0.0.100")).kind == "NAK"                           # A's address
    assert t.request(Ask(B, ciaddr="172.16.0.1")).kind == "NAK"


def test_release_decline_and_expiry():
    clock = Clock()
    t = table(clock=clock)
    t.discover(Ask(A))
    t.request(Ask(A, server_id="10.0.0.1", requested="10.0.0.100"))
    assert "ignored" in t.release(Ask(B, ciaddr="10.0.0.100"))
    assert "released" in t.release(Ask(A, ciaddr="10.0.0.100"))
    assert t.discover(Ask(B, requested="10.0.0.100")).address == "10.0.0.100"        # free again
    assert "declined" in t.decline(Ask(B, requested="10.0.0.100"))
    assert t.discover(Ask(B, requested="10.0.0.100")).address == "10.0.0.101"        # not the declined one
    assert {x.address: x.state for x in t}["10.0.0.100"] == "declined"
    t.request(Ask(B, server_id="10.0.0.1", requested="10.0.0.101"))
    clock.now += 61
    assert {x.address: x.state for x in t} == {"10.0.0.100": "expired", "10.0.0.101": "expired"}
    assert t.discover(Ask("02:00:00:00:00:0c")).kind == "OFFER"


# -- the server over a fake socket ----------------------------------------------------

def server(**kw) -> tuple[DhcpServer, FakeSocket]:
    sock = FakeSocket(lambda _f: [])
    ep = Endpoint(transport=Transport("fake0", sock=sock), mac="02:53:00:00:00:01", state_file=False)
    return DhcpServer(ep, Pool.parse("10.0.0.100-10.0.0.150"), lease_time=600, **kw), sock


def ask(msg: int, mac: str = A, *, requested_address: str | None = None, server_id: str | None = None,
        ciaddr: str | None = None, dst_ip: str = "255.255.255.255", **kw) -> bytes:
    return build_message(msg, mac=mac, xid=0x1234, opts=MessageOptions(**kw), requested=requested_address,
                         server_id=server_id, ciaddr=ciaddr, dst_ip=dst_ip)


def test_offer_and_ack_go_where_rfc_2131_4_1_says():
    srv, sock = server(options={"domain": "lab.test"})
    offer = Ether(srv.handle(ask(DISCOVER, broadcast=True))[0])
    o = options(bytes(offer))
    assert offer[BOOTP].op == 2 and offer[BOOTP].xid == 0x1234 and offer[BOOTP].yiaddr == "10.0.0.100"
    assert o["message-type"] == 2 and o["server_id"] == "10.0.0.1" and o["lease_time"] == 600
    assert o["renewal_time"] == 300 and o["rebinding_time"] == 525 and o["domain"] == b"lab.test"
    assert offer[Ether].dst == "ff:ff:ff:ff:ff:ff" and offer[IP].dst == "255.255.255.255"   # broadcast bit set
    assert sock.sent == [bytes(offer)]
    ack = Ether(srv.handle(ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1", broadcast=False))[0])
    assert options(bytes(ack))["message-type"] == 5
    assert ack[Ether].dst == A and ack[IP].dst == "10.0.0.100" and ack[UDP].dport == 68   # unicast, no bit
    assert srv.wait_lease(A, timeout=0).address == "10.0.0.100"
    renew = Ether(srv.handle(ask(REQUEST, ciaddr="10.0.0.100"))[0])
    assert renew[IP].dst == "10.0.0.100" and renew[BOOTP].ciaddr == "10.0.0.100"
    inform = srv.handle(ask(INFORM, ciaddr="10.0.0.100"))[0]
    assert "lease_time" not in options(inform) and Ether(inform)[BOOTP].yiaddr == "0.0.0.0"


def test_relayed_requests_go_back_to_the_relay_with_option_82():
    srv, _ = server()
    raw = ask(DISCOVER, giaddr="10.0.0.254", circuit_id=b"port7", remote_id=b"sw1")
    reply = Ether(srv.handle(raw)[0])
    assert reply[IP].dst == "10.0.0.254" and reply[UDP].dport == 67 and reply[Ether].dst == Ether(raw).src
    assert bytes(options(bytes(reply))["relay_agent_information"]) == parse_frame(raw).options[82]
    nak = Ether(srv.handle(ask(REQUEST, giaddr="10.0.0.254", requested_address="10.0.0.140",
                                server_id="10.0.0.1"))[0])
    assert options(bytes(nak))["message-type"] == 6 and nak[BOOTP].flags & 0x8000   # the relay broadcasts it


@pytest.mark.parametrize("field, address", [("giaddr", "255.255.255.255"), ("giaddr", "10.0.0.255"),
                                            ("giaddr", "127.0.0.1"), ("giaddr", "224.0.0.9"), ("giaddr", "0.0.0.7"),
                                            ("giaddr", "10.0.0.1"), ("ciaddr", "255.255.255.255"),
                                            ("ciaddr", "10.0.0.255"), ("ciaddr", "127.0.0.1"),
                                            ("ciaddr", "239.1.1.1"), ("ciaddr", "10.0.0.1")])
def test_no_reply_ever_goes_to_a_dangerous_destination(field, address):
    """A relay or client address that is broadcast, multicast, loopback, the zero network or our own gets
    nothing, and the log says the request was malformed and why; but a client that REQUESTs (renews)
    from such an address gets a NAK, broadcast (never to the address), so that it starts over."""
    srv, sock = server()
    for msg, kw in ((DISCOVER, {}), (REQUEST, {"requested_address": "10.0.0.100", "server_id": "10.0.0.1"}),
                    (INFORM, {})):
        raw = ask(msg, **kw, **({"giaddr": address} if field == "giaddr" else {"ciaddr": address}))
        if msg == REQUEST and field == "ciaddr":
            nak = Ether(srv.handle(raw)[0])
            assert options(bytes(nak))["message-type"] == 6 and nak[IP].dst == "255.255.255.255"
            assert nak.dst == "ff:ff:ff:ff:ff:ff" and srv.log[-2].note.startswith(f"NAK, broadcast: ciaddr {address}")
            sock.sent.clear()
            continue
        assert srv.handle(raw) == [] and sock.sent == []
        notes = [h.note for h in srv.log if h.note.startswith("malformed")]   # the first of its kind, whole
        assert notes[-1].startswith(f"malformed, ignored: {field} {address} is "), notes
    assert srv.handle(ask(DISCOVER, giaddr="10.0.0.254")) != []   # a sane relay is answered


def test_a_nak_is_broadcast_and_release_and_decline_get_no_reply():
    srv, _ = server()
    nak = Ether(srv.handle(ask(REQUEST, requested_address="192.168.9.9"))[0])
    assert options(bytes(nak))["message-type"] == 6 and nak[IP].dst == "255.255.255.255"
    assert srv.handle(ask(RELEASE, ciaddr="10.0.0.100")) == []
    assert srv.handle(ask(DECLINE, requested_address="10.0.0.100")) == []
    assert "does not hold it" in srv.log[-2].note and "was not offered it" in srv.log[-1].note


def test_a_request_whose_checksum_the_kernel_left_unfinished_is_answered_and_logged_finished():
    """A frame from a local sender (veth) comes with its UDP checksum not yet
    computed (the socket says TP_STATUS_CSUMNOTREADY: ``pending``). The server
    reads it and logs it with the checksum the wire would carry, by Scapy's
    own sum; the same bytes not flagged pending are a bad checksum."""
    from scapy.layers.inet import UDP

    srv, _sock = server()
    good = ask(DISCOVER)
    partial = good[:40] + b"\x12\x34" + good[42:]   # what the kernel leaves: not the checksum
    assert srv.handle(partial, pending=True)   # answered: an OFFER
    logged = srv.log[0].raw
    assert logged[40:42] == good[40:42] and logged == good
    rebuilt = Ether(logged)
    del rebuilt[UDP].chksum
    assert Ether(bytes(rebuilt))[UDP].chksum == int.from_bytes(logged[40:42], "big")
    assert not srv.log[0].frame.problems
    srv.handle(partial[:-1] + b"\x37", pending=True)   # not plainly well formed: the careful reader, finished first
    assert "checksum" not in srv.log[-2].note and "after END" in srv.log[-2].note
    srv.handle(partial)   # not pending: a wrong checksum, said so
    assert "bad UDP checksum 0x1234" in srv.log[-2].note


def test_malformed_requests_are_logged_with_their_reason_and_never_raise():
    srv, sock = server()
    good = ask(DISCOVER)
    for raw in (good[:60], good[:300], b"\x00" * 10, good[:-1] + b"\x37"):
        srv._on_request(raw)
    notes = [h.note for h in srv.log]
    assert all("internal error" not in n for n in notes)
    assert [n.split(":")[0] for n in notes if n.startswith("malformed")] == [
        "malformed, ignored",
        "malformed (IP total length 328 is more than the 286 bytes received; "
        "UDP length 308 is more than the 266 bytes received), answered anyway",
        "malformed, ignored",
        "malformed (bad UDP checksum 0x682f (expected 0x67f8); 46 bytes after END, not all PAD), answered anyway"]
    assert "BOOTP part is" in notes[0]
    # Counted by client and kind; a frame cut before its client's MAC under "?".
    assert srv.malformed_counts() == {("?", "no DHCP options"): 1, ("?", "cut before the xid"): 1}
    srv._on_request(good[:73])   # cut inside the MAC: the same "?" client, so counted, not logged again
    assert srv.malformed_counts()[("?", "no DHCP options")] == 2
    assert len(srv.log) == len(notes)


def test_a_storm_of_made_up_macs_is_counted_in_a_bounded_table():
    srv, sock = server()
    srv.malformed.limit = 50
    for k in range(200):   # cut before the options, each from a MAC of its own
        srv._on_request(ask(DISCOVER, mac=f"02:5e:00:00:{k >> 8:02x}:{k & 0xFF:02x}")[:250])
    counts = srv.malformed_counts()
    assert len(counts) <= 51 and sum(counts.values()) == 200
    assert counts[("other clients", "no DHCP options")] == 150, counts
    notes = [h.note for h in srv.log if h.note.startswith("malformed")]
    assert len(notes) == 51   # the first of its kind from each of the 50, then one for all the others


def test_macs_one_off_nak_hooks_and_intercept():
    srv, sock = server(macs=[A])
    assert srv.handle(ask(DISCOVER, mac=B)) == [] and "not in macs" in srv.log[-1].note
    srv.handle(ask(DISCOVER))
    srv.nak(A)
    assert options(srv.handle(ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1"))[0])[
        "message-type"] == 6
    assert options(srv.handle(ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1"))[0])[
        "message-type"] == 6   # until it starts over
    srv.handle(ask(DISCOVER))
    assert options(srv.handle(ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1"))[0])[
        "message-type"] == 5

    seen = []
    srv.on_reply = lambda req, rep: seen.append((req, rep)) or [rep, rep]
    assert len(srv.handle(ask(DISCOVER))) == 2 and seen[0][0][BOOTP].xid == 0x1234
    srv.on_reply = lambda req, rep: None
    before = len(sock.sent)
    assert srv.handle(ask(DISCOVER)) == [] and len(sock.sent) == before
    srv.on_reply = lambda req, rep: 1 / 0
    assert len(srv.handle(ask(DISCOVER))) == 1 and "on_reply raised ZeroDivisionError" in srv.log[-2].note

    srv.on_reply, srv.intercept = None, True
    assert srv.handle(ask(DISCOVER)) == [] and len(srv.held) == 1
    edited = srv.held[0].packet
    edited[BOOTP].yiaddr = "10.0.0.149"
    sent = srv.send_held(edited)
    assert sent.yiaddr == "10.0.0.149" and sock.sent[-1] == bytes(edited) and not srv.held


def test_serve_starts_only_on_an_interface_named_for_this_run(tmp_path):
    state = str(tmp_path / "s.json")
    named = DhcpSession("lo", state_file=state)
    named.save()
    named.close()
    remembered = DhcpSession(state_file=state)   # the interface comes from the state file
    assert remembered.iface == "lo"
    with pytest.raises(UsageError, match="named for this run"):
        remembered.serve()
    with pytest.raises(UsageError, match="session is on lo"):
        remembered.serve(iface="eth7")
    remembered.close()


def test_the_fast_reader_never_passes_what_the_careful_one_flags():
    """read_request() gives up on anything parse_frame() finds wrong, and reads
    the rest exactly as parse_frame() does: the catalog, every cut, and mutations."""
    import dataclasses
    import random

    from scapy_dhcp_ext.wire.replies4 import read_request
    from scapy_dhcp_ext.workloads.cases4 import header_cut_cases, length_cases, lie_cases, malformed_cases
    from tests.support.fuzzing import mutate

    rng = random.Random(7)
    base = ask(DISCOVER, hostname="board", giaddr="10.0.0.250", circuit_id=None)
    frames = [base, ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1"), ask(INFORM, ciaddr="10.0.0.9")]
    for make in (header_cut_cases, lie_cases):
        frames += [f for c in make(base, A, new_xid=lambda: rng.getrandbits(32)) for f in c.frames]
    frames += [f for c in length_cases(base, A, range(0, 600), new_xid=lambda: 1) for f in c.frames]
    frames += [f for c in malformed_cases(A, new_xid=lambda: 2) for f in c.frames]
    frames += [mutate(base, rng) for _ in range(3000)]
    frames += [mutate(frames[1], rng) for _ in range(1500)]   # from 0.0.0.0 to broadcast, no address: its own path
    fast = 0
    for raw in frames:
        careful, quick = parse_frame(raw), read_request(raw)
        if careful.problems or careful.op != 1 or careful.message_type is None:
            assert quick is None, (careful.problems, raw.hex())
        elif quick is not None:
            fast += 1
            # Every field (read_request builds the Frame positionally), but option 53's place in the order.
            for f in dataclasses.fields(Frame):
                if f.name != "option_order":
                    assert getattr(quick, f.name) == getattr(careful, f.name), f.name
            assert quick.option_order == [c for c in careful.option_order if c != 53]
            assert quick.message_type == careful.message_type
    assert fast > 300   # and it does read the good ones


def test_a_retired_address_is_not_offered_again_for_a_while():
    clock = Clock()
    t = table("10.0.0.100-10.0.0.103", clock=clock)
    t.discover(Ask(A))
    t.request(Ask(A, server_id="10.0.0.1", requested="10.0.0.100"))
    t.retire(A, hold=60)
    d = t.discover(Ask(A, requested="10.0.0.100"))   # it asks for its old address
    assert d.address == "10.0.0.101" and {x.address: x.state for x in t}["10.0.0.100"] == "retired"
    clock.now += 61
    assert t.discover(Ask(B, requested="10.0.0.100")).address == "10.0.0.100"


def test_one_reader_serves_and_our_own_client_gets_a_lease_on_the_same_socket():
    """The reader thread: requests to the server, replies to the client role,
    frames one role sends handed to the other (a veth never loops them back),
    and ARP for the server's address answered; all over a fake socket."""
    from scapy_dhcp_ext.wire import ARP_REQUEST, arp_frame, ip_bytes

    sock = FakeSocket(lambda _f: [])
    s = DhcpSession(transport=Transport("fake0", sock=sock), mac="02:00:00:00:00:0c", state_file=False, timeout=2)
    srv = s.serve("10.0.0.100-10.0.0.150", iface="fake0", timeout=0.2)
    try:
        assert s.transport.reader is not None and srv.running
        r = s.dora()
        assert r.status == "bound" and r.lease.address == "10.0.0.100" and r.lease.server_id == "10.0.0.1"
        assert srv.wait_lease("02:00:00:00:00:0c", timeout=1).state == "bound"
        assert srv.wait_lease(device_mac="02:00:00:00:00:0c", timeout=1).state == "bound"
        with pytest.warns(DeprecationWarning, match=r"srv.wait_lease\(mac=\) is srv.wait_lease\(device_mac=\)"):
            assert srv.wait_lease(mac="02:00:00:00:00:0c", timeout=1).state == "bound"
        kinds = [parse_frame(f).type_name for f in sock.sent]
        assert kinds == ["DISCOVER", "DISCOVER", "OFFER", "REQUEST", "ACK"], kinds   # probe, then DORA on the wire
        with pytest.warns(DeprecationWarning, match=r"srv.forcerenew\(mac=\) is srv.forcerenew\(device_mac=\)"):
            assert srv.forcerenew(mac="02:00:00:00:00:0c") == 1
        with pytest.warns(DeprecationWarning, match=r"srv.nak\(mac=\)"):
            srv.nak(mac="02:00:00:00:00:0c")
        assert "02:00:00:00:00:0c" in srv._nak_next
        srv._nak_next.clear()
        sock.inject(arp_frame(ARP_REQUEST, sha=bytes.fromhex("020000000099"), spa=ip_bytes("10.0.0.120"),
                              tha=bytes(6), tpa=ip_bytes("10.0.0.1")))
        deadline = time.monotonic() + 2
        while not (sock.sent[-1][12:14] == b"\x08\x06" and sock.sent[-1][21] == 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sock.sent[-1][28:32] == ip_bytes("10.0.0.1")   # "10.0.0.1 is at" us
    finally:
        s.close()
    assert not srv.running and s.transport.reader is None


def test_forcerenew_goes_unicast_to_each_bound_client_and_the_log_is_in_the_capture_not_the_journal(tmp_path):
    import json

    from scapy.utils import PcapNgReader

    sock = FakeSocket(lambda _f: [])
    ep = Endpoint(transport=Transport("fake0", sock=sock), mac="02:53:00:00:00:01",
                  state_file=str(tmp_path / "state.json"))
    srv = DhcpServer(ep, Pool.parse("10.0.0.100-10.0.0.150"), lease_time=600,
                     capture=str(tmp_path / "serve.pcapng"))
    srv.handle(ask(DISCOVER))
    with pytest.raises(UsageError, match="holds no bound lease"):
        srv.forcerenew(A)
    request = ask(REQUEST, requested_address="10.0.0.100", server_id="10.0.0.1")
    srv.handle(request)
    assert srv.forcerenew() == 1
    fr = Ether(sock.sent[-1])
    assert options(sock.sent[-1])["message-type"] == 9 and fr[IP].dst == "10.0.0.100" and fr[Ether].dst == A
    assert fr[BOOTP].xid == Ether(request)[BOOTP].xid   # its last xid: dhcpcd drops a FORCERENEW with another
    assert srv.log[-1].note == "FORCERENEW to 10.0.0.100"
    ep.flush()
    journal = tmp_path / "journal.jsonl"
    lines = [json.loads(x) for x in journal.read_text().splitlines()] if journal.exists() else []
    assert not [x for x in lines if x.get("op") == "SERVE"]   # frames are not state: not in the journal
    with PcapNgReader(str(tmp_path / "serve.pcapng")) as reader:   # Scapy's reader, not our writer
        frames = list(reader)
    assert [f.comment.decode().split()[0] for f in frames] == ["in", "out", "in", "out", "out"]
    assert frames[0].comment == b"in OFFER 10.0.0.100" and bytes(frames[-1]) == sock.sent[-1]
    assert frames[-1].comment == b"out FORCERENEW to 10.0.0.100" and abs(frames[-1].time - srv.log[-1].time) < 1e-5
    with pytest.raises(DhcpTimeout, match="no lease bound for 02:00:00:00:00:0b"):
        srv.wait_lease(B, timeout=0.1)
    ep.close()


def test_a_number_from_on_reply_sends_the_reply_that_much_later():
    sock = FakeSocket(lambda _f: [])
    s = DhcpSession(transport=Transport("fake0", sock=sock), mac="02:00:00:00:00:0c", state_file=False, timeout=2)
    srv = s.serve("10.0.0.100-10.0.0.150", iface="fake0", timeout=0.1, on_reply=lambda req, rep: 0.3)
    try:
        r = s.discover(window=0)
        assert r.offers and r.offers[0].address == "10.0.0.100"
        asked, answered = srv.log[0], srv.log[1]
        assert answered.note == "sent late" and answered.time - asked.time >= 0.3   # a timer never fires early
    finally:
        s.close()


def test_the_client_identifier_is_echoed_and_the_asked_options_come_in_the_asked_order():
    """RFC 6842 3 (option 61 back unchanged in OFFER, ACK and NAK) and RFC 2132 9.8 (option 55's order)."""
    from scapy.layers.dhcp import DHCP

    srv, _sock = server(options={"domain": "lab.test"})
    cid = b"\xff\x00\x00\x00\x01\x00\x03\x00\x01\x02\x00\x00\x00\x00\x0a"   # RFC 4361: type 255, IAID, DUID-LL
    offer = Ether(srv.handle(ask(DISCOVER, client_id=cid, param_req_list=(15, 6, 1, 3)))[0])
    codes = [o[0] for o in offer[DHCP].options if isinstance(o, tuple)]
    assert options(bytes(offer))["client_id"] == cid
    asked = [c for c in codes if c in ("domain", "name_server", "subnet_mask", "router")]
    assert asked == ["domain", "name_server", "subnet_mask", "router"], codes
    plain = Ether(srv.handle(ask(DISCOVER, mac="02:00:00:00:00:0b", param_req_list=(3, 1)))[0])
    assert "client_id" not in options(bytes(plain))
    plain_codes = [o[0] for o in plain[DHCP].options if isinstance(o, tuple)]
    assert [c for c in plain_codes if c in ("router", "subnet_mask")] == ["router", "subnet_mask"]
    nak = Ether(srv.handle(ask(REQUEST, client_id=cid, requested_address="192.0.2.7"))[0])
    assert options(bytes(nak))["message-type"] == 6 and options(bytes(nak))["client_id"] == cid
    # The echo goes after the cached part of the reply: its UDP checksum is right whatever the parity of
    # what comes before it (a domain of 8 bytes, then 9), and for an identifier of odd and even length.
    for domain in ("lab.test", "lab.tests"):
        srv, _sock = server(options={"domain": domain})
        for ident in (cid, cid + b"\x01"):
            raw = srv.handle(ask(DISCOVER, client_id=ident, param_req_list=(15, 6, 1, 3)))[0]
            assert parse_frame(raw).problems == [] and options(raw)["client_id"] == ident, domain


def test_the_odd_request_budget_holds_only_on_a_busy_link_per_client_and_for_all():
    busy = [False]
    odd = OddBudget(lambda: busy[0])
    a, b = bytes.fromhex("02000000000a"), bytes.fromhex("02000000000b")
    assert not any(odd.spent(a, 100.0) for _ in range(50))   # a quiet link reads every one, and spends nothing
    busy[0] = True
    assert [odd.spent(a, 100.0) for _ in range(ODD_BURST + 2)] == [False] * ODD_BURST + [True, True]
    assert not odd.spent(a, 100.0 + 1 / ODD_RATE) and odd.spent(a, 100.0 + 1 / ODD_RATE)   # then RATE a second
    assert not odd.spent(b, 100.5)   # another client has a budget of its own
    others = [odd.spent(bytes([2, 0x5e, 0, 0, k >> 8, k & 0xFF]), 100.5) for k in range(300)]
    assert 0 < others.count(False) < ODD_ALL and all(others[others.count(False):])   # and all of them one together
    assert odd.spent(b, 100.5) and not odd.spent(b, 101.5)
    busy[0] = False
    assert not odd.spent(a, 101.5)


def test_on_a_busy_link_a_storm_of_odd_requests_is_read_up_to_its_budget_then_counted_unread():
    srv, sock = server()
    busy = [False]
    srv.odd.busy = lambda: busy[0]
    good = ask(DISCOVER)
    lying = good[:16] + (len(good) - 14 + 40).to_bytes(2, "big") + good[18:]   # an IP total length that lies
    assert srv.handle(lying) and "answered anyway" in srv.log[-2].note   # the careful reader serves it
    assert all(srv.handle(lying) for _ in range(30))   # on a quiet link, every time
    busy[0] = True
    answered = sum(1 for _ in range(40) if srv.handle(lying))
    assert ODD_BURST <= answered <= ODD_BURST + 1   # (a loop that took half a second earns one more)
    unread = (A, kind_of(UNREAD))
    assert srv.malformed_counts()[unread] == 40 - answered
    assert [h.note for h in srv.log if UNREAD in h.note] == [f"malformed, ignored: {UNREAD} (IP total length "
                                                             f"{len(good) + 26} is more than the {len(good) - 14} "
                                                             f"bytes received)"]
    # A REQUEST with a loopback ciaddr gets a broadcast NAK, up to its client's budget too.
    loop = ask(REQUEST, mac=B, ciaddr="127.0.0.1")
    naks = [srv.handle(loop) for _ in range(ODD_BURST + 5)]
    assert ODD_BURST <= sum(1 for n in naks if n) <= ODD_BURST + 1
    assert all(options(n[0])["message-type"] == 6 for n in naks if n)
    assert srv.malformed_counts()[(B, kind_of(UNREAD))] == len(naks) - sum(1 for n in naks if n)
    assert any(UNREAD in h.note and "ciaddr 127.0.0.1 is a loopback" in h.note for h in srv.log)
