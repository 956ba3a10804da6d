"""The hostile-server catalog against the real code in the lab: nothing that
arrives on the wire makes anything but the project's own errors escape, each
case is shown for what it is, and the same session gets a lease afterwards."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time

import pytest

from scapy_dhcp_ext import DhcpError, DhcpSession, Result
from scapy_dhcp_ext.front.helpers import PacketTools
from scapy_dhcp_ext.lab import Lab
from scapy_dhcp_ext.link.transport import MAX_REPLIES
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support import REPO, module_argv
from tests.support.hostile import CATALOG, SERVER, YIADDR

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("lab tests need root: run the README's test command as root")
    tmp = tmp_path_factory.mktemp("hostile")
    control = tmp / "case"
    control.write_text("normal")
    with Lab([], extra=1) as lab:
        server = subprocess.Popen(["ip", "netns", "exec", lab.extra_netns[0],
                                   *module_argv("hostile_server", "eth0", str(control))], cwd=REPO)
        try:
            deadline = time.monotonic() + 10
            while not control.with_suffix(".ready").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            session = DhcpSession(lab.iface, state_file=str(tmp / "state.json"), timeout=0.4)
            yield session, control, tmp
            session.close()
        finally:
            server.kill()
            server.wait()


def exercise(session: DhcpSession, what: str, window: float = 0.1) -> Result:
    """Runs one exchange from INIT; only the project's own errors may come out."""
    session.reset()
    try:
        if what == "discover":
            session.discover(window=window)
        else:
            session.request(address=YIADDR, server_id=SERVER)
    except DhcpError:
        pass
    return session.last


def plain_counter(iface: str) -> socket.socket:
    """A plain raw socket on the link, to count what really arrived (the flood)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: past rmem_max, as root
    sock.bind((iface, 0))
    return sock


def copies_seen(sock: socket.socket, xid: int) -> int:
    n = 0
    while select.select([sock], [], [], 0.2)[0]:
        frame = parse_frame(sock.recv(65535))
        n += frame.op == 2 and frame.xid == xid
    return n


def check(result: Result, expect: str, what: str, session: DhcpSession, seen: int | None) -> None:
    """The outcome each case must have, on the DISCOVER side and on the REQUEST side."""
    if expect == "ignored":
        assert result.status == "timeout" and result.ignored and not result.received
        assert any(h.direction == "ignored" for h in list(session.history)[-5:])
        assert session.lease is None
    elif expect.startswith("malformed: "):
        words = expect[len("malformed: "):]
        problems = [p for f in result.received for p in f.problems]
        assert any(words in p for p in problems), problems
        assert "malformed" in repr(result)
        assert session.lease is None and result.lease is None  # a bogus ACK binds no lease
        if what == "request" and result.reply is not None:
            assert result.status == "malformed" and "no lease bound" in result.note
    elif expect.startswith("offers: "):
        if what == "discover":
            assert len(result.offers) == int(expect.split()[1]) and result.status == "offered"
        else:
            assert result.status == "bound" and session.lease.address == YIADDR and session.state == "BOUND"
    elif expect == "flood" and what == "discover":  # collects for a window: the copies pile up
        assert seen is not None and seen > MAX_REPLIES, "the flood did not arrive: the cap is not tested"
        assert len(result.received) == MAX_REPLIES  # every copy that came, up to the cap...
        assert f"{seen - MAX_REPLIES} more copies dropped (a flood)" in result.note  # ...the rest counted
    elif expect == "flood":  # the first ACK ends the REQUEST
        assert result.status == "bound" and session.lease.address == YIADDR
    else:
        raise AssertionError(f"no expectation {expect!r}")


@pytest.mark.parametrize("case", list(CATALOG))
def test_hostile_reply(hostile, case):
    session, control, _ = hostile
    expect = CATALOG[case][1]
    tools = PacketTools(session)
    for what in ("discover", "request"):
        control.write_text(case)
        counter = plain_counter(session.iface) if expect == "flood" else None
        start = time.monotonic()
        # A flood's copies are all read within a long window, however slow this machine is now.
        result = exercise(session, what, window=3.0 if expect == "flood" else 0.1)
        assert time.monotonic() - start < 8, "a hostile reply stalled the session"
        seen = copies_seen(counter, result.xid) if counter is not None else None
        if counter is not None:
            counter.close()
        check(result, expect, what, session, seen)
        for frame in result.received[:5] + result.ignored[:5]:
            frame.packet.summary()  # Scapy's dissection of it never raises
            assert frame.summary() and tools.pkt_dump(frame)
        # After each case, the same session gets a normal lease.
        control.write_text("normal")
        session.reset()
        r = session.dora()
        assert r.status == "bound" and r.lease.address == YIADDR and not r.reply.problems


def test_the_same_session_gets_a_normal_lease_after_the_catalog(hostile):
    session, control, tmp = hostile
    control.write_text("normal")
    session.reset()
    r = session.dora()
    assert r.status == "bound" and r.lease.address == YIADDR and not r.reply.problems
    session.endpoint.flush()
    saved = json.loads((tmp / "state.json").read_text())
    assert saved["lease"]["address"] == YIADDR and saved["state"] == "BOUND"
    records = [json.loads(line) for line in (tmp / "journal.jsonl").read_text().splitlines()]
    frames = [r for r in records if "hex" in r]
    assert all(r["hex"] for r in frames) and len(frames) > len(CATALOG)
    assert all("hex" in r or "state" in r for r in records)
