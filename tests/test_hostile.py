"""The hostile-server catalog against the real code in the lab: nothing that
arrives on the wire makes anything but the project's own errors escape, each
case is shown for what it is, and the same session gets a lease afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from scapy_dhcp_ext import DhcpError, DhcpSession
from scapy_dhcp_ext.helpers import PacketTools
from scapy_dhcp_ext.lab import Lab
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


def exercise(session: DhcpSession, what: str) -> None:
    """Runs one exchange; only the project's own errors may come out."""
    try:
        if what == "discover":
            session.discover(window=0.1)
        else:
            session.request(address=YIADDR, server_id=SERVER)
    except DhcpError:
        pass


@pytest.mark.parametrize("case", list(CATALOG))
def test_hostile_reply(hostile, case):
    session, control, _ = hostile
    control.write_text(case)
    start = time.monotonic()
    exercise(session, "discover")
    assert time.monotonic() - start < 3, "a hostile reply stalled the session"
    result = session.last
    expect = CATALOG[case][1]
    if expect == "ignored":
        assert result.status == "timeout" and result.ignored and not result.received
        assert any(h.direction == "ignored" for h in list(session.history)[-5:])
    elif expect.startswith("malformed: "):
        words = expect[len("malformed: "):]
        problems = [p for f in result.received for p in f.problems]
        assert any(words in p for p in problems), problems
        assert "malformed" in repr(result)
    elif expect.startswith("offers: "):
        assert len(result.offers) == int(expect.split()[1]) and result.status == "offered"
    elif expect == "flood":
        assert 1 <= len(result.received) <= 256
        if len(result.received) == 256:
            assert "flood" in result.note
    tools = PacketTools(session)
    for frame in result.received[:5] + result.ignored[:5]:
        t = time.monotonic()
        frame.packet.summary()  # Scapy's dissection, bounded in time
        assert time.monotonic() - t < 0.5
        assert frame.summary() and tools.pkt_dump(frame)
    exercise(session, "request")  # the ACK carries the same anomaly
    if session.lease is not None:
        repr(session.lease)


def test_the_same_session_gets_a_normal_lease_after_the_catalog(hostile):
    session, control, tmp = hostile
    control.write_text("normal")
    session.reset()
    r = session.dora()
    assert r.status == "ack" and r.lease.address == YIADDR and not r.reply.problems
    session.endpoint.flush()
    saved = json.loads((tmp / "state.json").read_text())
    assert saved["lease"]["address"] == YIADDR and saved["state"] == "BOUND"
    records = [json.loads(line) for line in (tmp / "journal.jsonl").read_text().splitlines()]
    frames = [r for r in records if "hex" in r]
    assert all(r["hex"] for r in frames) and len(frames) > len(CATALOG)
    assert all("hex" in r or "state" in r for r in records)
