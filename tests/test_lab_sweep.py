"""Sweeps against real servers, checked independently over a plain raw socket,
and against a fake device that dies on a given case."""

from __future__ import annotations

import os
import random
import select
import socket
import subprocess
import time

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.frames import parse_frame
from tests.support import REPO, module_argv

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


def plain_exchange(iface: str, frames: list[bytes], xid: int, chaddr: bytes, wait: float) -> bool:
    """Sends the frames over a fresh plain AF_PACKET socket; True if a DHCP
    reply with that xid and chaddr comes within ``wait`` seconds."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)) as sock:
        sock.bind((iface, 0))
        for f in frames:
            sock.send(f)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            frame = parse_frame(sock.recv(65535))
            if frame.op == 2 and frame.xid == xid and frame.chaddr == chaddr:
                return True
    return False


def test_answered_lengths_match_what_the_server_really_does(lab, session):
    report = session.sweep_lengths(progress=False)
    assert report.complete and report.killer is None and all(r.alive for r in report.rows)
    rows = {r.name: r for r in report.rows}
    assert len(rows) == 28 + 1473 + 6 + 10
    threshold = report.first_answered
    rng = random.Random(7)
    names = [f"len-{n:05d}" for n in (threshold - 2, threshold - 1, threshold, threshold + 1)]
    names += rng.sample([n for n in rows if n.startswith("len-")], 12)
    names += ["frame-0020", "ip-len-plus1", "udp-len-minus1", "len-01473", "len-08000"]
    chaddr = bytes.fromhex(session.mac.replace(":", ""))
    for name in names:
        row = rows[name]
        xid = parse_frame(row.frames[0]).xid
        really = plain_exchange(lab.iface, row.frames, xid, chaddr, wait=0.5 if not row.answered else 2.0)
        assert really == row.answered, f"{name}: sweep said {row.outcome}, the server really {really}"


def test_malformed_catalog_leaves_the_server_alive(lab, session):
    report = session.sweep_malformed(progress=False)
    assert report.complete and all(r.alive for r in report.rows)
    assert len(report.rows) >= 50 and 0 < len(report.answered_cases) < len(report.rows)
    assert session.dora().status == "ack"


def test_a_device_that_dies_is_named_with_the_bytes_that_killed_it(make_lab, tmp_path):
    lab = make_lab([], extra=1)
    killed = tmp_path / "killed.hex"
    device = subprocess.Popen(["ip", "netns", "exec", lab.extra_netns[0],
                               *module_argv("fake_device", "eth0", "250", str(killed))], cwd=REPO,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 10
        while not killed.with_suffix(".ready").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with DhcpSession(lab.iface, state_file=False) as s:
            report = s.sweep_lengths(range(240, 270), headers=False, lies=False, progress=False, timeout=0.3)
        assert report.killer is not None and report.killer.name == "len-00250"
        assert report.rows[-1] is report.killer and not report.killer.alive
        assert all(r.alive for r in report.rows[:-1]) and report.answered_lengths == list(range(243, 250))
        assert report.killer.frames[0].hex() == killed.read_text()  # exactly the bytes that killed it
        assert len(report.remaining) == 19 and "stopped answering after len-00250" in repr(report)
    finally:
        device.kill()
        device.wait()


@pytest.mark.parametrize("probe", ["arp", "icmp", "callable"])
def test_probes_the_kernel_answers_lose_no_answer_to_a_case(make_lab, tmp_path, probe):
    """dnsmasq's kernel answers ARP and ICMP before dnsmasq reads the case: the
    barrier DISCOVER still gives every case its OFFER, checked over a plain socket."""
    lab = make_lab("dnsmasq")
    with DhcpSession(lab.iface, state_file=False) as s:
        s.dora()
        calls = []
        chosen = (lambda host: calls.append(host) or True) if probe == "callable" else probe
        report = s.sweep_lengths(range(290, 330), probe=chosen, progress=False)
        assert report.complete and all(r.alive for r in report.rows)
        assert report.answered_lengths == list(range(290, 330))
        assert all(r.reply_types == ["OFFER"] and not r.note for r in report.rows)
        assert probe != "callable" or len(calls) == 40
        chaddr = bytes.fromhex(s.mac.replace(":", ""))
        for row in report.rows[::7] + [report.rows[-1]]:
            assert plain_exchange(lab.iface, row.frames, parse_frame(row.frames[0]).xid, chaddr, wait=2.0)
