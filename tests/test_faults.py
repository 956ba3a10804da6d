"""Faults against the real code in the lab: Ctrl-C at every point, an interface
that goes down or is missing, a full disk, two shells on one state file."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time

import pytest

from scapy_dhcp_ext import DhcpSession, InterfaceDown, Interrupted, NoSuchInterface
from scapy_dhcp_ext.state.store import Store

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


def consistent(session, tmp_path) -> dict:
    """Once what was saved is on disk: the state file parses and every journal line is whole."""
    session.endpoint.flush()
    state = json.loads((tmp_path / "state.json").read_text())
    for line in (tmp_path / "journal.jsonl").read_text().splitlines():
        json.loads(line)
    return state


def ctrl_c_in(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_while_waiting(lab, session, tmp_path):
    session.dora()
    lab.servers[0].proc.send_signal(signal.SIGSTOP)  # the server goes silent
    try:
        ctrl_c_in(0.3)
        with pytest.raises(Interrupted) as err:
            session.renew(timeout=5)
        assert err.value.result.status == "interrupted" and err.value.result.sent
        assert "timeout" not in repr(err.value.result).lower()
    finally:
        lab.servers[0].proc.send_signal(signal.SIGCONT)
    assert consistent(session, tmp_path)["lease"]["address"] == session.lease.address
    assert session.renew().status == "bound"  # the socket still works


def test_ctrl_c_before_a_send(lab, session, tmp_path, monkeypatch):
    real_send = session.transport.send

    def interrupted_send(frame):
        monkeypatch.setattr(session.transport, "send", real_send)
        raise KeyboardInterrupt
    monkeypatch.setattr(session.transport, "send", interrupted_send)
    with pytest.raises(Interrupted) as err:
        session.discover()
    assert err.value.result.status == "interrupted" and not err.value.result.sent
    assert session.dora().status == "bound"
    consistent(session, tmp_path)


def test_ctrl_c_between_the_steps_of_a_dora(lab, session, tmp_path, monkeypatch):
    real_request = session.request

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(session, "request", interrupted)
    with pytest.raises(Interrupted) as err:
        session.dora()
    partial = err.value.result
    assert partial.status == "interrupted" and [s.operation for s in partial.steps] == ["DISCOVER"]
    assert partial.offers and "after DISCOVER" in partial.note
    assert session.state == "SELECTING" and consistent(session, tmp_path)["state"] == "SELECTING"
    monkeypatch.setattr(session, "request", real_request)
    assert session.request().status == "bound"  # carries on from the offer in hand


def test_ctrl_c_during_a_save_keeps_a_whole_state(lab, session, tmp_path, monkeypatch):
    real_write = os.write

    def slow_write(fd, data):
        if b'"state":' in bytes(data):  # the save on the caller's path: the state's journal line
            os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the save
            time.sleep(0.05)
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", slow_write)
    with pytest.raises(Interrupted) as err:
        session.dora()
    monkeypatch.setattr(os, "write", real_write)
    assert err.value.result.lease is not None and "state is saved" in err.value.result.note
    state = consistent(session, tmp_path)
    assert state["state"] == "BOUND" and state["lease"]["address"] == session.lease.address
    assert not list(tmp_path.glob("state.json.*.tmp"))


def test_interface_down_and_back(lab, session):
    session.dora()
    subprocess.run(["ip", "link", "set", lab.iface, "down"], check=True)
    try:
        with pytest.raises(InterfaceDown, match=f"ip link set {lab.iface} up"):
            session.renew()
    finally:
        subprocess.run(["ip", "link", "set", lab.iface, "up"], check=True)
    time.sleep(0.1)
    assert session.renew().status == "bound"


def test_interface_down_during_a_load_is_one_line(lab, session):
    down = threading.Timer(0.4, subprocess.run, (["ip", "link", "set", lab.iface, "down"],))
    down.start()
    try:
        with pytest.raises(InterfaceDown, match=f"ip link set {lab.iface} up"):
            session.load(clients=20, duration=5, in_flight=2, progress=False)
    finally:
        down.join()
        subprocess.run(["ip", "link", "set", lab.iface, "up"], check=True)
    time.sleep(0.1)
    assert session.dora().status == "bound"  # the session still works


def test_missing_interface_is_one_line():
    with DhcpSession("nosuch0", state_file=False, mac="02:00:00:00:00:01") as s:
        with pytest.raises(NoSuchInterface) as err:
            s.discover()
    assert "\n" not in str(err.value) and "ip link" in str(err.value)


@pytest.fixture
def tiny_disk(tmp_path):
    where = tmp_path / "tiny"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_keeps_the_last_good_state(lab, tiny_disk):
    session = DhcpSession(lab.iface, state_file=str(tiny_disk / "state.json"))
    first = session.dora().lease
    session.endpoint.flush()
    good = (tiny_disk / "state.json").read_text()
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)
    r = session.renew()  # works; only the save fails
    assert r.status == "bound" and "state not saved" in r.note and "No space left" in r.note
    assert (tiny_disk / "state.json").read_text() == good and json.loads(good)["lease"]["address"] == first.address
    assert any("No space" in m for m in session.messages)
    filler.unlink()
    session.renew()
    session.endpoint.flush()
    assert session.save_error is None and json.loads((tiny_disk / "state.json").read_text())["state"] == "BOUND"
    session.close()


def _hammer(path: str, tag: int, n: int) -> None:
    store = Store(path)
    for i in range(n):
        store.save({"iface": f"writer{tag}", "i": i, "lease": None, "pad": "x" * (100 * tag)})
        store.append({"t": i, "dir": "out", "op": f"w{tag}", "hex": "ab" * 700})
    store.close()


def test_two_shells_on_one_state_file(tmp_path):
    path = str(tmp_path / "state.json")
    procs = [multiprocessing.Process(target=_hammer, args=(path, tag, 200)) for tag in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["iface"] in ("writer1", "writer2") and state["i"] == 199
    records = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    frames = [r for r in records if "hex" in r]
    states = [r["state"] for r in records if "state" in r]
    assert len(frames) == 400 and all(r["hex"] == "ab" * 700 for r in frames)
    assert len(states) == 400 and {(s["iface"], s["i"]) for s in states} == {
        (f"writer{tag}", i) for tag in (1, 2) for i in range(200)}
    assert [p.name for p in tmp_path.iterdir()] == ["journal.jsonl", "state.json"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl", "state.json"]


def test_scapy_conf_is_restored_on_every_path(tmp_path):
    from scapy.config import conf

    from scapy_dhcp_ext.front.cli import main
    conf.checkIPaddr = True
    assert main(["--state", str(tmp_path / "s.json"), "-c", "raise RuntimeError('x')"]) == 1
    assert conf.checkIPaddr is True
    assert main(["--iface", "nosuch0", "-c", "pass"]) == 2
    assert conf.checkIPaddr is True


def test_interface_goes_down_while_waiting(lab, session):
    session.dora()
    lab.servers[0].proc.send_signal(signal.SIGSTOP)
    timer = threading.Timer(0.3, subprocess.run, (["ip", "link", "set", lab.iface, "down"],))
    timer.start()
    try:
        with pytest.raises(InterfaceDown):
            session.renew(timeout=5)
        assert session.state == "BOUND" and session.lease is not None
    finally:
        timer.join()
        subprocess.run(["ip", "link", "set", lab.iface, "up"], check=True)
        lab.servers[0].proc.send_signal(signal.SIGCONT)
    time.sleep(0.1)
    assert session.renew().status == "bound"


def test_a_lab_whose_process_was_killed_is_removed_by_the_next(make_lab):
    import sys

    from scapy_dhcp_ext.lab import PREFIX, list_namespaces
    code = ("import time; from scapy_dhcp_ext.lab import Lab; lab = Lab('dnsmasq').start();"
            "print(lab.id, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    lab_id = proc.stdout.readline().strip()
    assert any(n.startswith(PREFIX + lab_id) for n in list_namespaces())
    proc.kill()  # SIGKILL: no chance to clean up (the other pytest worker's next lab may remove it first)
    proc.wait()
    other = make_lab("dnsmasq")  # a running lab is left alone, a dead one is removed
    names = list_namespaces()
    assert not any(n.startswith(PREFIX + lab_id) for n in names)
    assert any(n.startswith(other.netns) for n in names)
    assert not subprocess.run(["pgrep", "-f", f"scapy-dhcp-lab-{lab_id}-"], capture_output=True).stdout
