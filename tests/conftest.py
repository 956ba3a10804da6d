"""Fixtures: labs with real DHCP servers, in namespaces made and removed here."""

from __future__ import annotations

import os
import signal

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import PREFIX, Lab, list_namespaces


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("lab tests need root: run the README's test command as root")


@pytest.fixture(params=["dnsmasq", "kea"])
def lab(request):
    """One lab per test, with one server of each kind in turn."""
    _need_root()
    with Lab(request.param) as lab:
        yield lab


@pytest.fixture
def make_lab():
    """Labs of any shape; all removed at the end of the test."""
    _need_root()
    labs: list[Lab] = []

    def make(*args, **kw) -> Lab:
        lab = Lab(*args, **kw).start()
        labs.append(lab)
        return lab
    yield make
    for lab in labs:
        lab.stop()


@pytest.fixture
def session(lab, tmp_path):
    s = DhcpSession(lab.iface, state_file=str(tmp_path / "state.json"), timeout=2.0)
    yield s
    s.close()


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt here however the suite was started: a
    shell starts background jobs with SIGINT ignored, and Python keeps that."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture(autouse=True, scope="session")
def nothing_left_behind():
    """After the whole suite, no namespace, link or server of ours is left."""
    before = {n for n in list_namespaces() if n.startswith(PREFIX)}
    yield
    left = {n for n in list_namespaces() if n.startswith(PREFIX)} - before
    assert not left, f"namespaces left behind: {left}"
