"""DHCPv6 without a network: the wire helpers, the builders (read back by
Scapy's own DHCPv6 layers), the defensive reader (against Scapy's dissection
and the hostile catalog), RFC 8415's retransmission, and the client role over
a scripted socket."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dhcp6 import (
    DHCP6_RelayForward,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIfaceId,
    DHCP6OptOptReq,
    DHCP6OptRapidCommit,
    DHCP6OptRelayMsg,
    DHCP6OptRemoteID,
)
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils6 import in6_getnsma, in6_mactoifaceid

from scapy_dhcp_ext import DhcpSession, DhcpTimeout
from scapy_dhcp_ext.errors import UsageError
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.link.transport6 import Retransmit6, Transport6
from scapy_dhcp_ext.wire.dhcp6 import (
    IA_NA,
    IA_PD,
    SOLICIT,
    describe_duid,
    duid_en,
    duid_ll,
    duid_llt,
    duid_uuid,
    ia,
    iaaddr,
    iaprefix,
    link_local,
    multicast_mac,
    neighbour_solicit,
    option6,
    solicited_node,
    walk6,
)
from scapy_dhcp_ext.wire.frames6 import parse_frame6
from scapy_dhcp_ext.wire.messages6 import Relay6, frame6, message6, user_options
from tests.support.fakes import FakeSocket
from tests.support.hostile6 import CATALOG, respond6

MAC = "02:00:00:00:00:01"


# -- wire ---------------------------------------------------------------------

def test_link_local_and_solicited_node_agree_with_scapy():
    import socket

    iid = socket.inet_pton(socket.AF_INET6, "::" + in6_mactoifaceid(MAC))[8:]
    assert socket.inet_pton(socket.AF_INET6, link_local(MAC)) == b"\xfe\x80" + bytes(6) + iid

    want = socket.inet_ntop(socket.AF_INET6, in6_getnsma(socket.inet_pton(socket.AF_INET6, "fd77:1::1:2345")))
    assert solicited_node("fd77:1::1:2345") == want
    assert multicast_mac("ff02::1:2") == bytes.fromhex("333300010002")


def test_duids_of_each_kind():
    assert duid_ll(MAC) == bytes.fromhex("00030001020000000001")
    assert duid_llt(MAC, 946684800 + 5)[:8] == bytes.fromhex("0001000100000005")
    assert duid_en(2495, b"\x0a\x0b") == bytes.fromhex("00020000 09bf 0a0b".replace(" ", ""))
    assert len(duid_uuid(bytes(16))) == 18
    with pytest.raises(ValueError):
        duid_uuid(b"short")
    assert describe_duid(duid_ll(MAC)) == "LL 02:00:00:00:00:01"


def test_walk6_stops_at_an_option_past_the_end():
    data = option6(1, b"ab") + struct.pack("!HH", 23, 40) + bytes(3)
    items, problems = walk6(data)
    assert [c for _o, c, _p in items] == [1, 23]
    assert problems == ["option 23 (dns_servers) says 40 bytes, 3 remain"]


# -- builders, read back by Scapy ---------------------------------------------

def test_solicit_as_scapy_reads_it():
    payload = message6(SOLICIT, 0xABCDEF, [option6(1, duid_ll(MAC)), option6(8, b"\x00\x07"),
                                           ia(IA_NA, 7), ia(IA_PD, 8), option6(6, b"\x00\x17\x00\x18"),
                                           option6(14)])
    pkt = Ether(frame6(payload, mac=MAC))
    assert pkt[IPv6].dst == "ff02::1:2" and pkt[IPv6].src == link_local(MAC)
    assert pkt[Ether].dst == "33:33:00:01:00:02"
    sol = pkt[DHCP6_Solicit]
    assert sol.trid == 0xABCDEF
    assert bytes(sol[DHCP6OptClientId].duid) == duid_ll(MAC)
    assert sol[DHCP6OptElapsedTime].elapsedtime == 7
    assert sol[DHCP6OptIA_NA].iaid == 7 and sol[DHCP6OptIA_PD].iaid == 8
    assert list(sol[DHCP6OptOptReq].reqopts) == [23, 24]
    assert sol.haslayer(DHCP6OptRapidCommit)
    # Scapy's checksum over our bytes matches ours
    again = Ether(bytes(pkt))
    del again["UDP"].chksum
    assert Ether(bytes(again))["UDP"].chksum == pkt["UDP"].chksum


def test_relay_forward_as_scapy_reads_it():
    relay = Relay6(link_address="fd77:1::5", interface_id=b"eth0/1", remote_id=(4491, b"cm-1"))
    inner = message6(SOLICIT, 1, [option6(1, duid_ll(MAC))])
    pkt = Ether(frame6(relay.wrap(inner, link_local(MAC)), mac=MAC, relay=True))
    fw = pkt[DHCP6_RelayForward]
    assert fw.linkaddr == "fd77:1::5" and fw.peeraddr == link_local(MAC)
    assert pkt["UDP"].sport == 547 and pkt["UDP"].dport == 547
    assert bytes(fw[DHCP6OptIfaceId].ifaceid) == b"eth0/1"
    assert fw[DHCP6OptRemoteID].enterprisenum == 4491
    assert fw[DHCP6OptRelayMsg].haslayer(DHCP6_Solicit)


def test_user_options_by_name_code_and_raw_bytes():
    got = user_options({"user_class": b"lab", 65000: b"\x01", "dns_servers": ["fd77:1::1"]})
    assert got[0] == option6(15, b"lab") and got[1] == option6(65000, b"\x01")
    assert got[2] == option6(23, bytes.fromhex("fd770001000000000000000000000001"))
    assert user_options([b"\x00\x63\x00\x00"]) == [b"\x00\x63\x00\x00"]
    assert user_options([("oro", [23, "ntp_server"])]) == [option6(6, b"\x00\x17\x00\x38")]
    with pytest.raises(ValueError, match="unknown DHCPv6 option"):
        user_options({"no_such_option": b""})


# -- the reader ---------------------------------------------------------------

def _wrap(payload: bytes) -> bytes:
    from scapy_dhcp_ext.wire.dhcp6 import udp6_frame

    return udp6_frame(payload, src_mac=b"\x02" * 6, dst_mac=b"\x04" * 6, src="fe80::1", dst="fe80::2",
                      sport=547, dport=546)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       src=st.binary(min_size=16, max_size=16), dst=st.binary(min_size=16, max_size=16), as_bytes=st.booleans())
def test_a_udp6_frame_carries_the_checksum_and_lengths_scapy_computes(payload, sport, dport, src, dst, as_bytes):
    """The checksum is summed from the parts (the server's hot path): scapy, which builds the
    pseudo-header itself, must agree, for odd lengths too and addresses given as text or bytes."""
    from scapy.layers.inet import UDP

    from scapy_dhcp_ext.wire.dhcp6 import ip6_str, udp6_frame

    a, b = (src, dst) if as_bytes else (ip6_str(src), ip6_str(dst))
    raw = udp6_frame(payload, src_mac=b"\x02" * 6, dst_mac=b"\x04" * 6, src=a, dst=b, sport=sport, dport=dport,
                     hop_limit=9)
    pkt = Ether(raw)
    got = pkt[UDP].chksum
    del pkt[UDP].chksum
    assert Ether(bytes(pkt))[UDP].chksum == got != 0
    assert bytes(pkt) == raw and pkt[IPv6].plen == pkt[UDP].len == 8 + len(payload) and pkt[IPv6].hlim == 9
    assert (pkt[IPv6].src, pkt[IPv6].dst) == (ip6_str(src), ip6_str(dst)) and bytes(pkt[UDP].payload) == payload


def _reply(options: list[bytes], msg_type: int = 7) -> bytes:
    return _wrap(message6(msg_type, 0x10203, options))


def test_reader_reads_a_good_reply_as_scapy_does():
    raw = _reply([option6(1, duid_ll(MAC)), option6(2, duid_ll("02:00:00:00:00:02")),
                  ia(IA_NA, 5, 100, 200, iaaddr("fd77:1::100", 300, 400)),
                  ia(IA_PD, 6, 100, 200, iaprefix("fd77:1:2::/56", 300, 400)),
                  option6(23, bytes(16)), option6(24, b"\x03lab\x04test\x00")])
    f = parse_frame6(raw)
    assert not f.problems
    scapy_pkt = Ether(raw)
    assert f.txid == scapy_pkt["DHCP6_Reply"].trid == 0x10203
    assert [a.address for a in f.addresses] == [scapy_pkt["DHCP6OptIAAddress"].addr]
    assert f.prefixes[0].prefix == f"{scapy_pkt['DHCP6OptIAPrefix'].prefix}/{scapy_pkt['DHCP6OptIAPrefix'].plen}"
    assert f.ia_na[0].t1 == 100 and f.ia_na[0].t2 == 200
    assert f.domains == ["lab.test"] and f.dns_servers == ["::"]


def test_relay_nesting_33_deep_is_a_problem_not_a_crash():
    msg = message6(7, 1, [])
    for _ in range(33):
        msg = bytes([13, 0]) + bytes(32) + option6(9, msg)
    f = parse_frame6(_wrap(msg))
    assert any("nested deeper than 32" in p for p in f.problems)


@pytest.mark.parametrize("options,words", [
    ([ia(IA_NA, 1, 300, 200)], "T1 300 > T2 200"),
    ([option6(6, b"\x00\x17\x00")], "ORO of odd length 3"),
    ([option6(8, b"\x00\x00\x00")], "elapsed_time has 3 bytes"),
    ([option6(1, b"")], "client_id has 0 bytes"),
    ([option6(2, bytes(131))], "DUID of 131 bytes"),
    ([option6(13, b"\x00\x00\xff\xfe")], "not UTF-8"),
])
def test_reader_names_what_is_wrong(options, words):
    f = parse_frame6(_reply(options))
    assert any(words in p for p in f.problems), f.problems


def test_unknown_message_type_is_named():
    assert "unknown message type 99" in parse_frame6(_reply([], msg_type=99)).problems


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_reader_never_raises(tail):
    f = parse_frame6(_wrap(tail))
    f.summary()
    assert isinstance(f.problems, list)


# -- retransmission (RFC 8415 15) ----------------------------------------------

@pytest.mark.parametrize("r", [0.0, 0.5, 0.999])
def test_solicit_schedule_first_rt_is_past_irt_and_doubles_to_the_cap(r):
    gen = Retransmit6.rfc8415("SOLICIT").intervals(lambda: r)
    rts = [next(gen) for _ in range(16)]
    assert 1.0 <= rts[0] <= 1.1            # RAND > 0 for the first SOLICIT (RFC 8415 15)
    for a, b in zip(rts, rts[1:]):
        capped = 0.9 * 3600 <= b <= 1.1 * 3600
        assert capped or 1.9 * a <= b <= 2.1 * a, (a, b)
    assert 0.9 * 3600 <= rts[-1] <= 1.1 * 3600


def test_request_schedule_stops_after_ten():
    assert Retransmit6.rfc8415("REQUEST").mrc == 10 and Retransmit6.rfc8415("CONFIRM").mrd == 10


def test_release_is_sent_at_most_four_times(fake_v6):
    session, sock = fake_v6(lambda frame: [])
    session.v6.lease = _lease_for(session)
    session.v6.schedule["RELEASE"] = Retransmit6(irt=0.01, mrc=4)
    with pytest.raises(DhcpTimeout):
        session.v6.release(timeout=5)
    assert len(sock.sent) == 4
    elapsed = [parse_frame6(raw).msg.first(8) for raw in sock.sent]
    assert struct.unpack("!H", elapsed[0])[0] == 0
    assert struct.unpack("!H", elapsed[-1])[0] > 0   # the elapsed-time option grows
    assert session.v6.lease is None   # released, answered or not


# -- the client role over a scripted socket ------------------------------------

class FakeSocket6(FakeSocket):
    def send(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        f = parse_frame6(data)
        if f.dport == 547:
            for reply in self.respond(f):
                self.inject(reply)
        return len(data)


@pytest.fixture
def fake_v6(tmp_path):
    made = []

    def make(respond, state=None):
        sock = FakeSocket6(respond)
        t4 = Transport("fake0", sock=FakeSocket())
        session = DhcpSession(transport=t4, mac=MAC, state_file=state or str(tmp_path / "state.json"), timeout=0.5)
        from scapy_dhcp_ext.link.transport6 import Transport6

        session.endpoint._transport6 = Transport6("fake0", sock=sock)
        made.append(session)
        return session, sock
    yield make
    for s in made:
        s.close()


def _lease_for(session):
    from scapy_dhcp_ext.roles.results6 import IALease, Lease6

    return Lease6(duid_ll("02:00:00:00:00:02").hex(), [IALease("NA", 1, 100, 200, [
        {"address": "fd77:1::77", "prefix_len": 128, "preferred": 300, "valid": 400}])])


def test_sarr_over_a_scripted_server_and_the_state_file(fake_v6, tmp_path):
    session, sock = fake_v6(lambda f: respond6("normal", f))
    r = session.v6.sarr(ia_pd=True)
    assert r.status == "bound" and r.lease.address == "fd77:1::77" and r.lease.prefix == "fd77:1:2:7700::/56"
    assert (r.lease.t1, r.lease.t2) == (100, 200)
    assert [parse_frame6(x).type_name for x in sock.sent] == ["SOLICIT", "REQUEST"]
    session.endpoint.flush()
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["v6"]["lease"]["ias"][1]["addresses"][0]["address"] == "fd77:1:2:7700::"
    assert saved["v6"]["duid"] == duid_ll(MAC).hex()
    session.close()
    again, _ = fake_v6(lambda f: [], state=str(tmp_path / "state.json"))
    assert again.v6.lease is not None and again.v6.lease.prefix == "fd77:1:2:7700::/56"


def test_send_packet_of_an_ipv6_frame_replies_and_saves_once(fake_v6, tmp_path):
    """dhcp.send_packet() of an IPv6 frame goes out on the v6 socket, collects
    the server's messages with its transaction id, and saves the state once
    (one state line in the journal), not once per role it passes through."""
    session, sock = fake_v6(lambda f: respond6("normal", f))
    session.v6.sarr()
    frame = sock.sent[0]   # the SOLICIT, sent again by hand
    journal = tmp_path / "journal.jsonl"
    session.endpoint.flush()
    states_before = sum('"state"' in line for line in journal.read_text().splitlines())
    r = session.send_packet(frame)
    assert r.status == "answered" and parse_frame6(r.reply.raw).type_name == "ADVERTISE"
    assert parse_frame6(sock.sent[-1]).txid == parse_frame6(frame).txid
    session.endpoint.flush()
    states_after = sum('"state"' in line for line in journal.read_text().splitlines())
    assert states_after - states_before == 1


def test_a_corrupt_v6_state_is_a_message(tmp_path, fake_v6):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"iface": "fake0", "v6": {"lease": {"server_duid": "zz"}}}))
    session, _ = fake_v6(lambda f: [], state=str(path))
    assert session.v6.lease is None
    assert any("v6" in m for m in session.messages)


def test_duid_types_and_a_new_duid_forgets_the_lease(fake_v6):
    session, sock = fake_v6(lambda f: respond6("normal", f))
    session.v6.sarr()
    session.v6.use_duid("EN", enterprise=2495, identifier=b"\x01")
    assert session.v6.lease is None and session.v6.duid == duid_en(2495, b"\x01")
    session.v6.sarr()
    assert parse_frame6(sock.sent[-1]).client_id == duid_en(2495, b"\x01")
    session.v6.use_duid("UUID")
    assert len(session.v6.duid) == 18
    with pytest.raises(UsageError):
        session.v6.use_duid("XYZ")


@pytest.mark.parametrize("case", [c for c in CATALOG if c != "normal"])
def test_hostile_v6_reply_over_a_scripted_socket(fake_v6, case):
    session, _ = fake_v6(lambda f: respond6(case, f))
    expect = CATALOG[case][1]
    try:
        r = session.v6.sarr(ia_pd=True, rapid_commit=True, timeout=0.3)
    except DhcpTimeout as exc:
        r = exc.result
    if expect == "ignored":
        assert r.status == "timeout" and r.ignored
    elif expect == "bound":
        assert r.status == "bound"
    else:
        assert r.status == "malformed" and session.v6.lease is None
        assert expect.split(": ", 1)[1] in r.note, r.note


def test_neighbour_solicitation_for_our_address_is_answered():
    sock = FakeSocket6(lambda f: [])
    t = Transport6("fake0", sock=sock)
    mac = bytes.fromhex("020000000001")
    t.answer_nd(link_local(mac), mac)
    ns = neighbour_solicit(mac=b"\x02" * 6, src="fe80::2", target=link_local(mac))
    sock.inject(ns)
    assert t.receive(0.05) is None     # dealt with: not a DHCPv6 frame
    na = Ether(sock.sent[-1])
    assert na["ICMPv6ND_NA"].tgt == link_local(mac) and na["ICMPv6ND_NA"].S == 1
    assert na["ICMPv6NDOptDstLLAddr"].lladdr == "02:00:00:00:00:01"
    del na["ICMPv6ND_NA"].cksum
    assert Ether(bytes(na))["ICMPv6ND_NA"].cksum == Ether(sock.sent[-1])["ICMPv6ND_NA"].cksum



# -- sweep cases ----------------------------------------------------------------

def test_the_v6_catalog_has_thirty_named_cases_each_its_own_bytes():
    from scapy_dhcp_ext.workloads.cases6 import malformed_cases6, malformed_specs6

    duid = duid_ll(MAC)
    specs = malformed_specs6(duid)
    names = [s.name for s in specs]
    assert len(names) >= 30 and len(set(names)) == len(names)
    for must in ("opt-len-past-end", "ia-na-iaaddr-cut", "ia-pd-t1-gt-t2", "duid-empty", "duid-130", "oro-odd",
                 "msg-type-255", "relay-nest-33", "status-non-utf8", "elapsed-3-bytes"):
        assert must in names
    cases = malformed_cases6(MAC, duid, new_txid=iter(range(1, 1000)).__next__)
    assert len({c.frames[0] for c in cases}) == len(cases)
    by_name = {c.name: parse_frame6(c.frames[0]) for c in cases}
    # What each anomaly is, as the defensive reader names it (Scapy reads the frames too, without raising)
    for name, words in (("opt-len-past-end", "says"), ("ia-na-iaaddr-cut", "IAADDR"), ("ia-pd-t1-gt-t2", "T1 7200"),
                        ("duid-empty", "client_id has 0"), ("duid-131", "DUID of 131"), ("oro-odd", "odd length"),
                        ("msg-type-255", "unknown message type 255"), ("relay-nest-33", "nested deeper than 32"),
                        ("status-non-utf8", "not UTF-8"), ("elapsed-3-bytes", "elapsed_time has 3")):
        assert any(words in p for p in by_name[name].problems), (name, by_name[name].problems)
        Ether(cases[names.index(name)].frames[0]).summary()
    assert not by_name["duid-130"].problems   # the largest legal DUID is legal
    assert all(len(c.frames[0]) <= 1514 for c in cases)


def test_length_cases6_cut_grow_and_fragment_as_scapy_reassembles():
    from scapy.layers.inet6 import defragment6

    from scapy_dhcp_ext.workloads.cases6 import length_cases6, lie_cases6

    base = message6(SOLICIT, 0, [option6(1, duid_ll(MAC)), option6(8, b"\x00\x00")])
    cases = length_cases6(base, MAC, [0, 5, 17, 18, 100, 3000], mtu=1500, new_txid=iter(range(1, 99)).__next__)
    for case in cases[:-1]:
        assert len(case.frames) == 1 and Ether(case.frames[0])["UDP"].len == 8 + case.length
        assert not parse_frame6(case.frames[0]).problems or case.length < 18
    big = cases[-1]
    assert big.kind == "fragmented" and len(big.frames) == 3
    whole = IPv6(bytes(defragment6([Ether(f)[IPv6] for f in big.frames])))
    assert len(bytes(whole["UDP"].payload)) == 3000 and whole["UDP"].len == 3008
    lies = {c.name: Ether(c.frames[0]) for c in lie_cases6(base, MAC, new_txid=iter(range(1, 99)).__next__)}
    assert lies["udp-len-plus100"]["UDP"].len == 8 + len(base) + 100
    assert lies["ip6-len-zero"][IPv6].plen == 0


def test_ctrl_c_in_a_sarr_keeps_the_partial_result_and_the_session_usable(fake_v6):
    from scapy_dhcp_ext import Interrupted

    calls = []

    def respond(f):
        calls.append(f.type_name)
        if f.type_name == "REQUEST" and len(calls) == 2:
            raise KeyboardInterrupt
        return respond6("normal", f)

    session, _ = fake_v6(respond)
    with pytest.raises(Interrupted) as caught:
        session.v6.sarr()
    partial = caught.value.result
    assert partial.status == "interrupted"
    assert [(s.operation, s.status) for s in partial.steps] == [("SOLICIT", "offered"), ("REQUEST", "interrupted")]
    assert session.v6.last is partial and session.v6.lease is None
    assert session.v6.sarr().status == "bound"


def test_a_v4_only_run_keeps_the_saved_v6_lease(fake_v6, tmp_path):
    state = str(tmp_path / "state.json")
    session, _ = fake_v6(lambda f: respond6("normal", f), state=state)
    session.v6.sarr()
    session.close()
    v4_only = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac=MAC, state_file=state, timeout=0.5)
    v4_only.dora()    # a script that never touches v6 saves the state file
    v4_only.close()
    assert json.loads((tmp_path / "state.json").read_text())["v6"]["lease"]["ias"][0]["addresses"][0]["address"] \
        == "fd77:1::77"


def test_decline_one_address_of_the_lease(fake_v6):
    session, sock = fake_v6(lambda f: respond6("normal", f))
    session.v6.sarr()
    with pytest.raises(UsageError, match="equal to fd77:1::99"):
        session.v6.decline("fd77:1::99")
    assert session.v6.decline("fd77:1::77").status == "answered"
    sent = Ether(sock.sent[-1])
    assert sent.haslayer("DHCP6_Decline") and sent["DHCP6OptIAAddress"].addr == "fd77:1::77"
    assert session.v6.lease is None
