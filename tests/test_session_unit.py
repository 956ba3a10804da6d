"""Session state and transactions over an injected socket: no network."""

from __future__ import annotations

import pytest

from scapy_dhcp_ext import DhcpSession, DhcpTimeout, Interrupted, UsageError
from scapy_dhcp_ext.link.transport import MAX_REPLIES, Backoff, Transport
from scapy_dhcp_ext.wire import ACK, NAK, OFFER, mac_bytes
from tests.support.fakes import FakeSocket, reply_frame, simple_server

MAC = "02:00:00:00:00:07"


def session(respond=simple_server, **kw) -> tuple[DhcpSession, FakeSocket]:
    sock = FakeSocket(respond)
    tr = Transport("fake0", sock=sock)
    kw.setdefault("backoff", Backoff(first=0.1))
    return DhcpSession(transport=tr, mac=MAC, state_file=False, timeout=0.3, **kw), sock


def test_dora_walks_the_states_and_binds_the_lease():
    s, sock = session()
    assert s.state == "INIT"
    d = s.discover(window=0)
    assert s.state == "SELECTING" and d.status == "offered"
    assert [o.address for o in d.offers] == ["10.9.0.50"] and d.offers[0].server_id == "10.9.0.1"
    r = s.request()
    assert r.status == "bound" and s.state == "BOUND"
    assert (s.lease.address, s.lease.server_id, s.lease.lease_time, s.lease.t1, s.lease.t2) == \
        ("10.9.0.50", "10.9.0.1", 600, 300, 525)
    assert r.xid == d.xid  # the REQUEST keeps the DISCOVER's xid
    assert [h.direction for h in s.history] == ["out", "in", "out", "in"]


def test_nak_is_a_result_and_returns_to_init():
    s, _ = session()
    r = s.request(address="10.9.0.99")
    assert r.status == "refused" and r.nak and s.state == "INIT" and s.lease is None


def test_init_reboot_has_no_server_id_and_gets_the_lease():
    s, sock = session()
    r = s.request(address="10.9.0.50")
    assert r.status == "bound" and s.state == "BOUND"
    from scapy_dhcp_ext.wire.frames4 import parse_frame
    sent = parse_frame(sock.sent[-1])
    assert sent.server_id is None and sent._addr(50) == "10.9.0.50"


def test_timeout_raises_with_the_result_and_retransmits_same_xid():
    s, sock = session(respond=lambda f: [], backoff=Backoff(first=0.05, factor=1.0, jitter=0))
    with pytest.raises(DhcpTimeout) as err:
        s.discover(timeout=2.0)  # a send every 0.05 s: two need no more than a tenth of the time given
    assert "no OFFER" in str(err.value)
    result = err.value.result
    assert result.status == "timeout" and len(result.sent) >= 2
    assert len({bytes(raw[46:50]) for _t, raw in result.sent}) == 1  # same xid each time
    assert s.state == "INIT" and s.last is result


def test_replies_for_other_clients_are_ignored_but_kept():
    def respond(frame):
        return [reply_frame(frame, OFFER, xid=frame.xid ^ 1), reply_frame(frame, OFFER, chaddr=b"\x02" * 6),
                reply_frame(frame, OFFER)]
    s, _ = session(respond)
    d = s.discover(window=0.05)
    assert len(d.offers) == 1 and len(d.ignored) == 2
    assert [h.direction for h in s.history].count("ignored") == 2


def test_discover_collects_offers_from_two_servers():
    def respond(frame):
        return [reply_frame(frame, OFFER), reply_frame(frame, OFFER, yiaddr="10.9.0.60", server_ip="10.9.0.2")]
    s, _ = session(respond)
    d = s.discover()
    assert sorted(o.server_id for o in d.offers) == ["10.9.0.1", "10.9.0.2"]


def test_request_waits_for_the_chosen_servers_reply():
    def respond(frame):
        if frame.message_type == 1:
            return [reply_frame(frame, OFFER)]
        return [reply_frame(frame, NAK, server_ip="10.9.0.2"), reply_frame(frame, ACK)]
    s, _ = session(respond)
    s.discover(window=0)
    r = s.request()
    assert r.status == "bound" and len(r.received) == 2


def test_operations_that_need_a_lease_say_what_to_do():
    s, _ = session()
    for op in (s.renew, s.rebind, s.release, s.decline, s.inform):
        with pytest.raises(UsageError, match="dora|address"):
            op()
    with pytest.raises(UsageError, match="discover"):
        s.request()


def test_renew_is_unicast_to_the_server_and_release_forgets_the_lease():
    s, sock = session()
    s.dora()
    r = s.renew()
    frame = r.sent[0][1]
    assert frame[:6] == mac_bytes("02:53:00:00:00:01")          # server's MAC
    assert r.status == "bound" and s.state == "BOUND"
    assert s.transport.arp_addresses  # answers ARP for the leased address
    s.release()
    assert s.state == "INIT" and s.lease is None and not s.transport.arp_addresses


def test_ctrl_c_while_waiting_gives_the_partial_result():
    class Boom(FakeSocket):
        def recvmsg(self, bufsize, ancbufsize=0, flags=0):
            raise KeyboardInterrupt

    sock = Boom()
    s = DhcpSession(transport=Transport("fake0", sock=sock), mac=MAC, state_file=False, timeout=0.3)
    with pytest.raises(Interrupted) as err:
        s.discover()
    assert err.value.result.status == "interrupted" and s.last.status == "interrupted"
    assert isinstance(err.value, KeyboardInterrupt)
    # The session still works afterwards.
    sock.__class__ = FakeSocket
    assert s.dora().status == "bound"


def test_unknown_keyword_is_a_type_error():
    s, _ = session()
    with pytest.raises(TypeError, match="bogus"):
        s.discover(bogus=1)


def test_malformed_offer_is_kept_with_its_reason():
    def respond(frame):
        return [reply_frame(frame, OFFER, options=b"\x35\x01\x02\x36\x05\x0a\x09\x00\x01\x00\xff")]
    s, _ = session(respond)
    d = s.discover(window=0)
    assert "option 54 has length 5" in repr(d)


def test_a_reply_that_is_not_the_answer_does_not_stop_the_retries():
    def respond(frame):
        return [reply_frame(frame, NAK)]  # a DISCOVER answered with garbage, every time
    s, sock = session(respond, backoff=Backoff(first=0.05, factor=1.0, jitter=0))
    with pytest.raises(DhcpTimeout):
        s.discover(timeout=2.0)
    assert len(sock.sent) >= 3 and len(s.last.received) >= 3


def test_a_flood_of_copies_is_capped_and_counted():
    copies = 500
    s, sock = session(lambda f: [reply_frame(f, OFFER)] * copies)
    d = s.discover(window=0.3)
    assert len(d.received) == MAX_REPLIES == 256 and len(d.offers) == MAX_REPLIES
    assert f"{copies - MAX_REPLIES} more copies dropped (a flood)" in d.note
    assert [h.direction for h in s.history].count("in") == MAX_REPLIES


def test_the_state_is_saved_once_an_operation_and_not_for_a_mistake(tmp_path):
    import json

    def states() -> int:
        lines = (tmp_path / "journal.jsonl").read_text().splitlines()
        return sum("state" in json.loads(line) for line in lines)

    s = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac=MAC, timeout=0.3,
                    state_file=str(tmp_path / "state.json"), backoff=Backoff(first=0.1))
    s.dora()
    assert states() == 1  # a DORA is two exchanges and one save
    s.transport.sock.respond = lambda f: []
    with pytest.raises(DhcpTimeout):
        s.renew(timeout=0.2)
    assert states() == 2  # a timeout is saved once too
    s.release()
    with pytest.raises(UsageError):
        s.renew()  # a mistake sends nothing and changes nothing: nothing to save
    assert states() == 3
    s.close()


def test_sweep_replies_and_check_client_start_the_device_over_with_the_sessions_restart(monkeypatch):
    """In the --lab-client shell dhcp.restart_device is the lab client's: sweep_replies()
    uses it as check_client() does (a client bound for an hour is not back for the next
    case otherwise), and dhcp.renew_device for its renew case; an explicit one wins."""
    from scapy_dhcp_ext.workloads import client_checks4 as client_checks
    from scapy_dhcp_ext.workloads import reply_sweep4 as reply_sweep
    from tests.support.fakes import FakeSocket

    seen = []
    renews = []
    monkeypatch.setattr(reply_sweep, "sweep_replies",
                        lambda session, cases, **kw: (seen.append(kw.get("restart")), renews.append(kw.get("renew"))))
    monkeypatch.setattr(client_checks, "check_client", lambda session, **kw: seen.append(kw.get("restart")))
    s = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07", state_file=False)

    def restart() -> None:
        return None

    def other() -> None:
        return None

    s.restart_device = restart
    s.renew_device = other
    s.sweep_replies()
    s.check_client()
    s.sweep_replies(restart=other, renew=restart)
    assert seen == [restart, restart, other]
    assert renews == [other, restart]
    s.close()


def test_check_client_hooks_its_probe_on_the_server_before_the_server_reads_a_request(monkeypatch):
    """Else a DISCOVER that comes first is OFFERed unseen, and the REQUEST for that OFFER is judged
    as one without an OFFER (a verdict that flipped on a busy machine)."""
    from scapy_dhcp_ext.roles.server4 import DhcpServer
    from tests.support.fakes import FakeSocket

    hooked = []

    def start(server):
        hooked.append(server.observe is not None and server.mutate is not None)
        raise RuntimeError("stop before serving")

    monkeypatch.setattr(DhcpServer, "start", start)
    s = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07", state_file=False)
    with pytest.raises(RuntimeError, match="stop before serving"):
        s.check_client(only=["retransmit-backoff"], progress=False, force=True)   # the fake answers DISCOVERs
    s.close()
    assert hooked == [True]
