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


def test_an_option_has_one_name_in_keywords_and_in_options():
    """dora(vendor_class="x") and dora(options={"vendor_class": "x"}) send the same option 60
    (Scapy calls 60 vendor_class_id, still accepted, and 124 vendor_class); reads and writes
    say dns_servers for option 6 (Scapy's name_server still accepted)."""
    from scapy_dhcp_ext.wire import DISCOVER, find_option, option_name, option_number
    from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message

    by_keyword = build_message(DISCOVER, mac="02:00:00:00:00:01", xid=1, opts=MessageOptions(vendor_class="x"))
    by_options = build_message(DISCOVER, mac="02:00:00:00:00:01", xid=1,
                               opts=MessageOptions(options={"vendor_class": "x"}))
    assert find_option(by_keyword, 60) == find_option(by_options, 60) == b"x"
    assert find_option(by_options, 124) is None
    assert option_number("vendor_class") == option_number("vendor_class_id") == 60
    assert option_number("vi_vendor_class") == 124 and option_name(60) == "vendor_class"
    assert option_number("dns_servers") == option_number("name_server") == 6 and option_name(6) == "dns_servers"


@pytest.mark.parametrize("call, old, new", [
    ("check_server", {"wait": 0.05}, "timeout"),
    ("check_client", {"mac": "02:00:00:00:00:09"}, "device_mac"),
    ("check_client", {"wait": 1.0}, "timeout"),
    ("sweep_replies", {"mac": "02:00:00:00:00:09"}, "device_mac"),
    ("sweep_replies", {"cases": ["no-end"]}, "only"),
])
def test_the_old_keywords_warn_with_the_new_one_and_still_count(session, monkeypatch, call, old, new):
    """The device under test is device_mac= everywhere, the wait for the peer timeout=, a catalog's
    entries only=/skip=; the old keyword warns and its value is what the new one gets."""
    from scapy_dhcp_ext.workloads import client_checks4, reply_sweep4, server_checks4

    seen: dict[str, object] = {}

    class Stop(Exception):
        pass

    def record(**kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(server_checks4, "ServerProbe", lambda session, **kw: record(**kw))
    monkeypatch.setattr(client_checks4, "select_checks", lambda *a: record(select=a))
    monkeypatch.setattr(reply_sweep4, "select", lambda only: record(only=only))
    (name, value), = old.items()
    with pytest.warns(DeprecationWarning, match=rf"{call}\({name}=\) is {call}\({new}=\) now"), \
            pytest.raises(Stop):
        getattr(session, call)(**old)
    if call == "check_server":
        assert seen["wait"] == value
    if call == "sweep_replies" and name == "cases":
        assert seen["only"] == value


def test_seconds_everywhere_and_in_flight_is_not_a_window(session, monkeypatch):
    """load()'s exchanges at once are in_flight= (a window is seconds, as in discover()); its
    latencies are latency_ms; pkt_send() waits timeout= seconds. The old names warn."""
    from scapy_dhcp_ext.front.helpers import PacketTools
    from scapy_dhcp_ext.workloads import load4

    got: dict[str, object] = {}
    monkeypatch.setattr(load4, "run_load", lambda endpoint, **kw: got.update(kw) or
                        load4.LoadResult(clients=1, in_flight=kw["in_flight"], target_rate=None))
    with pytest.warns(DeprecationWarning, match=r"load\(window=\) is load\(in_flight=\) now"):
        result = session.load(window=3, progress=False)
    assert got["in_flight"] == 3
    result.latency_ms = {"dora": {"p50": 1.0}}
    with pytest.warns(DeprecationWarning, match="latency_ms"):
        assert result.latency == {"dora": {"p50": 1.0}}
    with pytest.warns(DeprecationWarning, match="in_flight"):
        assert result.window == 3
    sent: dict[str, object] = {}
    monkeypatch.setattr(session, "send_packet", lambda pkt, **kw: sent.update(kw))
    with pytest.warns(DeprecationWarning, match=r"pkt_send\(wait=\) is pkt_send\(timeout=\) now"):
        PacketTools(session).pkt_send(b"\x00" * 60, wait=1.5)
    assert sent["timeout"] == 1.5


def test_one_way_to_choose_catalog_entries(session, monkeypatch):
    """only= and skip= for every catalog, an unknown name a usage error naming the known ones;
    sweep_malformed's old names= warns and counts as only=."""
    from scapy_dhcp_ext import UsageError
    from scapy_dhcp_ext.workloads import sweep4
    from scapy_dhcp_ext.workloads.catalog import choose
    from scapy_dhcp_ext.workloads.client_checks4 import CLIENT_CHECKS
    from scapy_dhcp_ext.workloads.reply_cases4 import catalog

    entries = [c.name for c in catalog()]
    assert choose(entries, None, None, key=str) == entries
    assert choose(entries, None, [entries[0]], key=str) == entries[1:]
    assert choose(entries, entries[:3], entries[1], key=str) == [entries[0], entries[2]]
    with pytest.raises(UsageError, match="unknown case 'nope'; known: "):
        choose(entries, ["nope"], None, key=str, what="case")
    with pytest.raises(UsageError, match="unknown check"):
        session.check_client(only=["nope"])

    class Stop(Exception):
        pass

    def runner(host, probe, timeout, on_dead, wait_dead, progress, params):
        raise Stop(params)

    monkeypatch.setattr(sweep4, "_runner", runner)
    with pytest.warns(DeprecationWarning, match=r"sweep_malformed\(names=\) is sweep_malformed\(only=\) now"), \
            pytest.raises(Stop) as stop:
        session.sweep_malformed(names=["no-end"])
    assert stop.value.args[0] == {"names": ["no-end"]}
    with pytest.raises(Stop) as stop:
        session.sweep_malformed(skip=["no-end"])
    assert "no-end" not in stop.value.args[0]["names"] and len(stop.value.args[0]["names"]) > 10
    assert len(CLIENT_CHECKS) > 3


@pytest.mark.parametrize("old, new, name", [
    ("scapy_dhcp_ext.frames", "scapy_dhcp_ext.wire.frames4", "parse_frame"),
    ("scapy_dhcp_ext.reply_cases", "scapy_dhcp_ext.workloads.reply_cases4", "catalog"),
    ("scapy_dhcp_ext.v6.frames", "scapy_dhcp_ext.wire.frames6", "parse_frame6"),
    ("scapy_dhcp_ext.transport", "scapy_dhcp_ext.link.transport", "Transport"),
])
def test_the_flat_layouts_module_names_still_import_and_warn(old, new, name, monkeypatch):
    """A script written against 0.1's flat package (``from scapy_dhcp_ext.frames import
    parse_frame``) still runs for one release, told where the module went."""
    import importlib
    import sys

    for mod in [m for m in sys.modules if m == old or m.startswith(old + ".")]:
        monkeypatch.delitem(sys.modules, mod)
    with pytest.warns(DeprecationWarning, match=rf"{old} is {new} now"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_one_status_word_per_outcome_for_v4_and_v6_and_the_old_words_warn():
    import json

    from scapy_dhcp_ext.roles.results4 import STATUSES, Result, Status

    bound = Result("DORA", "bound")
    assert bound.status == "bound" and bound.ok and not bound.refused and isinstance(bound.status, Status)
    assert json.dumps({"s": bound.status}) == '{"s": "bound"}' and repr(bound.status) == "'bound'"
    assert bound.status in {"bound"} and f"{bound.status}" == "bound" and bound.headline().startswith("DORA BOUND")
    assert Result("SARR", "refused", family=6).refused and Result("DORA", "refused").nak
    for new, old in [("bound", "ack"), ("refused", "nak"), ("offered", "advertised"), ("answered", "reply"),
                     ("answered", "replied"), ("answered", "ack"), ("timeout", "no reply")]:
        status = Result("X", new).status
        with pytest.warns(DeprecationWarning, match=f"status '{old}' is '{new}' now"):
            assert status == old
        with pytest.warns(DeprecationWarning):
            assert not status != old
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Result("X", "bound").status != "refused" and Result("X", "refused").status != "ack"
        assert Result("X", "offered").status != 4
    with pytest.raises(ValueError, match="unknown status 'ack'"):
        Result("DORA", "ack")   # the old words are read, never written
    assert set(STATUSES) == {"offered", "bound", "answered", "refused", "malformed", "sent", "timeout",
                             "interrupted"}
