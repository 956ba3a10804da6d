"""One word per concept: the v6 suffix rule (methods on ``dhcp.v6`` have none, the
shell's v6 helpers all end in 6), and the old names kept one release, each
warning with its new name and doing what the new one does."""

from __future__ import annotations

import warnings

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.front.helpers import OPERATIONS, OPERATIONS6, RENAMED6, make_helpers
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.workloads.checks import CheckReport, CheckResult
from tests.support.fakes import FakeSocket


@pytest.fixture
def session():
    s = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07", state_file=False)
    yield s
    s.close()


def test_methods_on_dhcp_v6_have_no_suffix_and_the_shell_helpers_all_have_it(session):
    helpers = make_helpers(session)
    for name in OPERATIONS6:
        assert not name.endswith("6") and callable(getattr(session.v6, name))
        assert helpers[name + "6"] == getattr(session.v6, name)
    assert not set(OPERATIONS) & {n + "6" for n in OPERATIONS6}
    v6_helpers = {n for n in helpers if n.endswith("6") and callable(helpers[n])} - {"Relay6", "Retransmit6"}
    assert v6_helpers == {n + "6" for n in OPERATIONS6}


@pytest.mark.parametrize("old", ["request6", "renew6", "rebind6", "release6", "decline6", "confirm6",
                                 "sweep_lengths6", "sweep_malformed6", "load6"])
def test_the_old_v6_method_names_warn_and_call_the_new_ones(session, old, monkeypatch):
    new = old[:-1]
    called = []
    monkeypatch.setattr(session.v6, new, lambda *a, **kw: called.append((a, kw)) or "done")
    with pytest.warns(DeprecationWarning, match=rf"dhcp\.v6\.{old}\(\) is dhcp\.v6\.{new}\(\) now"):
        assert getattr(session.v6, old)(1, timeout=2) == "done"
    assert called == [((1,), {"timeout": 2})]


@pytest.mark.parametrize("old", sorted(RENAMED6))
def test_the_old_flat_v6_helpers_warn_and_run_the_new_ones(session, old, monkeypatch):
    new = RENAMED6[old]
    called = []
    monkeypatch.setattr(session.v6, new[:-1], lambda *a, **kw: called.append(kw) or "done")
    helpers = make_helpers(session)
    with pytest.warns(DeprecationWarning, match=rf"{old}\(\) is {new}\(\) now"):
        assert helpers[old](timeout=1) == "done"
    assert called == [{"timeout": 1}]


def test_every_report_calls_its_rows_rows():
    report = CheckReport("server", rows=[CheckResult("x", "2131 4.1", "MUST", "a rule", "pass")])
    with pytest.warns(DeprecationWarning, match="report.rows"):
        assert report.results == report.rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r.key for r in report.rows] == ["x"] and report.failed == []
