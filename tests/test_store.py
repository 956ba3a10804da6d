"""The state file and journal: atomic writes, bad files set aside, never eval."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from scapy_dhcp_ext import DhcpSession, StateError
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.state.store import STATE_VERSION, Store
from tests.support import REPO
from tests.support.fakes import FakeSocket


def test_save_and_load_round_trip(tmp_path):
    store = Store(tmp_path / "s" / "state.json")
    store.save({"iface": "eth9", "lease": None})
    data = Store(tmp_path / "s" / "state.json").load()
    assert data["iface"] == "eth9" and data["version"] == STATE_VERSION
    store.close()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["journal.jsonl", "state.json"]  # no temp file
    assert json.loads((tmp_path / "s" / "state.json").read_text())["iface"] == "eth9"


def test_a_process_killed_after_a_save_loses_nothing(tmp_path):
    """The save is in the journal before save() returns; the state file comes
    later, in the background. A SIGKILL in between loses nothing."""
    path = tmp_path / "state.json"
    code = ("import os, sys; from scapy_dhcp_ext.state.store import Store\n"
            "s = Store(sys.argv[1]); s.save({'iface': 'first'}); s.flush()\n"
            "s.flusher.delay = 60\n"                  # the next checkpoint would come far too late
            "s.save({'iface': 'second', 'lease': {'address': '10.0.0.9'}})\n"
            "os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO)
    assert proc.returncode == -9
    assert json.loads(path.read_text())["iface"] == "first"  # the state file is the older one...
    lines = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert lines[-1]["state"]["iface"] == "second"  # ...the journal has the newer, whole
    assert Store(path).load()["lease"] == {"address": "10.0.0.9"}


@pytest.mark.parametrize("content, why", [
    ("", "empty"), ('{"iface": "eth0"', "not valid JSON"), ("__import__('os').system('x')", "not valid JSON"),
    ("[1, 2]", "no version"), ('{"version": 99}', "newer scapy-dhcp"), (b"\xff\xfe\x00", "cannot read"),
])
def test_bad_files_are_set_aside(tmp_path, content, why):
    path = tmp_path / "state.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    store = Store(path)
    assert store.load() == {}
    assert len(store.messages) == 1 and why in store.messages[0]
    assert not path.exists() and len(list(tmp_path.glob("state.json.bad-*"))) == 1


def test_unreadable_file_is_a_message(tmp_path):
    path = tmp_path / "state.json"
    path.mkdir()  # reading a folder fails even for root
    store = Store(path)
    assert store.load() == {} and "cannot read" in store.messages[0]


def test_a_failed_write_keeps_the_last_good_state(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    store = Store(path)
    store.save({"iface": "good"})
    store.flush()

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(StateError, match="No space left"):
        store.save({"iface": "new"})
    monkeypatch.undo()
    store.close()
    assert json.loads(path.read_text())["iface"] == "good" and Store(path).load()["iface"] == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl", "state.json"]


def test_fsync_happens_off_the_callers_path_and_close_waits_for_it(tmp_path, monkeypatch):
    real_fsync, synced = os.fsync, []

    def recording_fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if path.startswith(str(tmp_path)):  # other tests' stores may still be syncing theirs
            synced.append((threading.current_thread().name, path))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    store = Store(tmp_path / "state.json")
    store.save({"iface": "a"})
    store.append({"t": 1, "dir": "out", "hex": "00"})
    assert not synced  # written, not yet synced: the caller did not wait for the disk
    assert json.loads((tmp_path / "journal.jsonl").read_text().splitlines()[0])["state"]["iface"] == "a"
    deadline = time.monotonic() + 10
    while len(synced) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    temp = str(tmp_path / f"state.json.{os.getpid()}.tmp")
    assert sorted(synced) == sorted(("scapy-dhcp fsync", p) for p in (temp, str(tmp_path),
                                                                       str(tmp_path / "journal.jsonl")))
    assert json.loads((tmp_path / "state.json").read_text())["iface"] == "a"
    store.save({"iface": "b"})
    store.close()  # writes what is pending before it returns
    assert json.loads((tmp_path / "state.json").read_text())["iface"] == "b"


def test_journal_appends_and_tail_skips_bad_lines(tmp_path):
    store = Store(tmp_path / "state.json")
    for i in range(5):
        store.append({"t": i, "dir": "out", "hex": "00"})
    with open(store.journal_path, "a") as fh:
        fh.write("garbage\n{\n")
    store.append({"t": 9, "dir": "in", "hex": "01"})
    assert [r["t"] for r in store.tail(10)] == [0, 1, 2, 3, 4, 9]


def test_session_persists_lease_and_history_across_restarts(tmp_path):
    path = tmp_path / "state.json"
    s = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07",
                    state_file=str(path), timeout=0.3)
    s.dora()
    s.close()
    again = DhcpSession(state_file=str(path))
    assert again.iface == "fake0" and again.state == "BOUND" and again.lease.address == "10.9.0.50"
    assert again.mac == "02:00:00:00:00:07" and len(again.history) == 4
    assert again.history[-1].frame.message_type == 5


def test_session_starts_with_a_corrupt_state_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "lease": {"address": 5}, "state": "BOUND"}')
    s = DhcpSession(state_file=str(path))
    assert s.state == "INIT" and s.lease is None and any("unusable" in m for m in s.messages)


def test_under_sudo_files_belong_to_the_invoking_user(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("only root can give files away")
    monkeypatch.setenv("SUDO_UID", "12345")
    monkeypatch.setenv("SUDO_GID", "12346")
    store = Store(tmp_path / "new" / "state.json")
    store.save({"iface": "x"})
    store.append({"t": 1})
    store.close()
    for path in (tmp_path / "new", tmp_path / "new" / "state.json", tmp_path / "new" / "journal.jsonl"):
        assert (path.stat().st_uid, path.stat().st_gid) == (12345, 12346), path


def test_the_journal_rotates_and_records_reads_both_generations(tmp_path):
    store = Store(tmp_path / "state.json")
    store.journal_limit = 2000
    for i in range(20):
        store.append({"t": i, "op": "SWEEP abc len", "dir": "out", "hex": "00" * 50})
    store.close()  # a new session opens the journal again: now it rotates
    again = Store(tmp_path / "state.json")
    again.journal_limit = 2000
    again.append({"t": 99, "op": "SWEEP abc len", "dir": "out", "hex": "00"})
    assert (tmp_path / "journal.jsonl.1").exists() and len((tmp_path / "journal.jsonl").read_text().splitlines()) == 1
    assert [r["t"] for r in again.records("SWEEP abc")] == list(range(20)) + [99]


def test_held_lines_go_in_one_write_and_a_state_line_never_waits(tmp_path, monkeypatch):
    """Store.hold(): a server's burst of frames journals in one write(2); a
    state line takes the held lines out with it at once, in order; past
    HELD_LINES the held ones go anyway."""
    from scapy_dhcp_ext.state import store as store_module

    real_write, writes = os.write, []

    def counting_write(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path)):
            writes.append(bytes(data))
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", counting_write)

    def lines() -> list[dict]:
        return [json.loads(x) for x in store.journal_path.read_text().splitlines()]

    store = Store(tmp_path / "state.json")
    store.append({"t": 0, "dir": "out", "hex": "00"})
    store.hold()
    for i in range(1, 6):
        store.append({"t": i, "dir": "in", "hex": "01"})
    assert [r["t"] for r in lines()] == [0] and len(writes) == 1   # held: not on disk yet
    store.release()
    assert [r["t"] for r in lines()] == [0, 1, 2, 3, 4, 5] and len(writes) == 2   # five lines, one write

    store.hold()
    store.append({"t": 6, "dir": "in", "hex": "01"})
    store.save({"iface": "held"})   # never waits: it writes the held line and itself, now
    assert [r.get("t") for r in lines()][-2] == 6 and lines()[-1]["state"]["iface"] == "held"
    for i in range(store_module.HELD_LINES):
        store.append({"t": 100 + i, "dir": "in", "hex": "01"})
    assert len(lines()) == 8 + store_module.HELD_LINES   # the bound: the 64th held line wrote them all
    store.append({"t": 999, "dir": "in", "hex": "01"})
    assert store.tail(1)[0]["t"] == 999   # a reader of the journal sees the held lines too
    store.close()


def test_a_server_burst_is_in_its_capture_and_its_lease_file_and_not_in_the_journal(tmp_path):
    """serve() under a burst: every request and reply in its pcapng capture, in order (read back by
    Scapy), one lease-file line per ACK (read back as CSV), and no frame of its in the session's journal,
    which is for state."""
    import csv

    from scapy.utils import PcapNgReader

    from scapy_dhcp_ext.roles.leases4 import Pool
    from scapy_dhcp_ext.roles.server4 import DhcpServer
    from scapy_dhcp_ext.state.endpoint import Endpoint
    from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message

    sock = FakeSocket(respond=lambda frame: [])
    ep = Endpoint(transport=Transport("fake0", sock=sock), mac="02:53:00:00:00:01",
                  state_file=tmp_path / "state.json")
    srv = DhcpServer(ep, Pool.parse("10.0.0.100-10.0.0.199"), lease_time=600,
                     capture=str(tmp_path / "serve.pcapng")).start()
    try:
        macs = [f"02:00:00:00:01:{i:02x}" for i in range(40)]
        for i, mac in enumerate(macs):
            sock.inject(build_message(1, mac=mac, xid=1000 + i, opts=MessageOptions()))
        for i, mac in enumerate(macs):
            sock.inject(build_message(3, mac=mac, xid=2000 + i, opts=MessageOptions(),
                                      requested=f"10.0.0.{100 + i}", server_id="10.0.0.1"))
        deadline = time.monotonic() + 10
        while len(srv.log) < 160 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        srv.stop()
        ep.close()
    with PcapNgReader(str(tmp_path / "serve.pcapng")) as reader:
        frames = list(reader)
    xids = [int.from_bytes(bytes(f)[46:50], "big") for f in frames]
    assert xids == [x for i in range(40) for x in (1000 + i, 1000 + i)] + [
        x for i in range(40) for x in (2000 + i, 2000 + i)]
    assert frames[0].comment == b"in OFFER 10.0.0.100" and frames[-2].comment == b"in SELECTING: ACK 10.0.0.139"
    with open(tmp_path / "leases4-fake0.csv", newline="") as fh:
        rows = [r for r in csv.reader(fh) if not r[0].startswith("#")]
    assert [(r[1], r[2], r[3]) for r in rows] == [("bound", f"10.0.0.{100 + i}", mac) for i, mac in enumerate(macs)]
    journal = (tmp_path / "journal.jsonl").read_text()
    assert '"op":"SERVE"' not in journal and '"state":' in journal
