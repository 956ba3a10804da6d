"""Fixtures: labs with real DHCP servers, in namespaces made and removed here.

Tests that need root or the lab carry the ``lab`` marker (a test that asks for
a lab fixture gets it whether or not it says so), so ``pytest -m "not lab"``
runs as any user, on a machine without iproute2 or the servers."""

from __future__ import annotations

import os
import signal

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.lab import Lab
from tests.support.labs import left_behind, ours

LAB_FIXTURES = {"lab", "make_lab", "session", "hostile", "kea_lab"}


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("lab tests need root: run the README's test command as root, or pytest -m 'not lab'")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("lab"):
            item.add_marker(pytest.mark.lab)


def pytest_collection_finish(session):
    """Labs that exist before the lab tests run (another shell's) are not ours to count."""
    session.config._lab_before = (
        ours()
        if any(item.get_closest_marker("lab") for item in session.items) and os.geteuid() == 0 else None)


def pytest_sessionfinish(session, exitstatus):
    """After the lab tests, no namespace, link or server of ours is left."""
    before = getattr(session.config, "_lab_before", None)
    if before is None:
        return
    left = left_behind(before)
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: namespaces left behind by the lab tests: {sorted(left)}")


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt here however the suite was started: a
    shell starts background jobs with SIGINT ignored, and Python keeps that."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


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
