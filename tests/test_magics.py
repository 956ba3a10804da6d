"""The extension and its magics in a fresh IPython shell per test, errors re-raised."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from scapy.config import conf

from scapy_dhcp_ext import DhcpSession, DhcpTimeout, Result
from scapy_dhcp_ext.link.transport import Backoff, Transport
from tests.support.fakes import FakeSocket, simple_server

MAGICS = ["dhcp_discover", "dhcp_request", "dhcp_dora", "dhcp_release", "dhcp_inform", "dhcp_decline",
          "dhcp_renew", "dhcp_rebind", "dhcp_session", "dhcp6_solicit", "dhcp6_request", "dhcp6_sarr",
          "dhcp6_renew", "dhcp6_rebind", "dhcp6_release", "dhcp6_decline", "dhcp6_confirm", "dhcp6_info",
          "dhcp6_session", "dhcp6_sweep", "dhcp6_sweep_replies", "dhcp6_serve", "dhcp6_check"]
HELPERS = ["discover", "request", "dora", "release", "inform", "decline", "renew", "rebind", "dhcp",
           "solicit", "sarr", "renew6", "rebind6", "release6", "decline6", "confirm6", "info_request", "Relay6",
           "sweep_lengths6", "sweep_malformed6", "Retransmit6"]


@pytest.fixture
def ip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    conf.checkIPaddr = True
    yield shell
    shell.run_line_magic("unload_ext", "scapy_dhcp_ext")
    InteractiveShell.clear_instance()


@pytest.fixture
def fake_ip(ip):
    """The extension loaded over a session whose socket is a scripted server."""
    session = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07",
                          state_file=False, timeout=0.3, backoff=Backoff(first=0.1))
    ip.user_ns["dhcp"] = session
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    return ip


def run(ip, cell: str):
    result = ip.run_cell(cell)
    result.raise_error()
    return result.result


def test_load_adds_magics_names_and_sets_check_ip(ip):
    import scapy.all as sa
    scapy_funcs = {n: getattr(sa, n) for n in ("dhcp_discover", "dhcp_request") if hasattr(sa, n)}  # 2.8 has both
    assert scapy_funcs
    ip.user_ns.update(scapy_funcs)
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    assert all(m in ip.magics_manager.magics["line"] for m in MAGICS)
    assert all(n in ip.user_ns for n in HELPERS)
    assert conf.checkIPaddr is False
    assert all(ip.user_ns[n] is f for n, f in scapy_funcs.items())  # Scapy's functions untouched


def test_unload_undoes_everything_and_reload_works(ip):
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    ip.run_line_magic("unload_ext", "scapy_dhcp_ext")
    assert not any(m in ip.magics_manager.magics["line"] for m in MAGICS)
    assert not any(n in ip.user_ns for n in HELPERS)
    assert conf.checkIPaddr is True
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    ip.run_line_magic("reload_ext", "scapy_dhcp_ext")
    assert "dhcp_dora" in ip.magics_manager.magics["line"] and "dora" in ip.user_ns
    assert conf.checkIPaddr is False


def test_dora_magic_returns_the_result_and_binds_the_session(fake_ip):
    r = run(fake_ip, "r = %dhcp_dora --hostname probe --prl 1,3 --option 224=hex:0102\nr")
    assert isinstance(r, Result) and r.status == "bound"
    session = fake_ip.user_ns["dhcp"]
    assert session.state == "BOUND" and session.lease.address == "10.9.0.50"
    sent = r.steps[0].sent[0][1]
    from scapy_dhcp_ext.wire.frames4 import parse_frame
    frame = parse_frame(sent)
    assert frame.options[12] == b"probe" and frame.options[55] == b"\x01\x03" and frame.options[224] == b"\x01\x02"


def test_every_operation_magic_works(fake_ip):
    assert run(fake_ip, "%dhcp_discover --window 0").status == "offered"
    assert run(fake_ip, "%dhcp_request --offer 0").status == "bound"
    assert run(fake_ip, "%dhcp_renew").status == "bound"
    assert run(fake_ip, "%dhcp_rebind").status == "bound"
    assert run(fake_ip, "%dhcp_inform").status == "answered"
    assert run(fake_ip, "%dhcp_release").status == "sent"
    assert run(fake_ip, "%dhcp_request 10.9.0.50").status == "bound"
    assert run(fake_ip, "%dhcp_decline -m taken").status == "sent"
    assert fake_ip.user_ns["dhcp"].state == "INIT"


def test_session_magic_changes_mac_resets_and_shows_history(fake_ip, capsys):
    s = run(fake_ip, "%dhcp_session --new-mac")
    assert s.mac != "02:00:00:00:00:07" and s.mac == fake_ip.user_ns["dhcp"].mac
    run(fake_ip, "%dhcp_dora")
    run(fake_ip, "%dhcp_session --reset --history 2")
    assert s.state == "INIT" and "ACK" in capsys.readouterr().out
    run(fake_ip, "%dhcp_session --mac 02:00:00:00:00:09")
    assert s.mac == "02:00:00:00:00:09"


def test_mistakes_are_usage_errors_that_say_what_to_type(fake_ip):
    with pytest.raises(UsageError, match="dora"):
        run(fake_ip, "%dhcp_renew")
    with pytest.raises(UsageError, match="KEY=VALUE"):
        run(fake_ip, "%dhcp_dora --option nonsense")
    with pytest.raises(UsageError, match="--prl"):
        run(fake_ip, "%dhcp_dora --prl a,b")
    with pytest.raises(UsageError):
        run(fake_ip, "%dhcp_dora --no-such-flag")
    with pytest.raises(UsageError, match="MAC"):
        run(fake_ip, "%dhcp_session --mac zz")


def test_timeouts_print_one_line_and_the_session_stays_usable(fake_ip, capsys):
    fake_ip.user_ns["dhcp"].transport.sock.respond = lambda f: []
    result = fake_ip.run_cell("%dhcp_discover -t 0.2")
    assert isinstance(result.error_in_exec, DhcpTimeout)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("DhcpTimeout: no OFFER")
    fake_ip.user_ns["dhcp"].transport.sock.respond = simple_server
    assert run(fake_ip, "dora()").status == "bound"


def test_settings_are_traitlets(fake_ip):
    fake_ip.run_line_magic("config", "DhcpMagics.timeout = 7.5")
    assert fake_ip.user_ns["dhcp"].timeout == 7.5


def test_results_render_as_html(fake_ip):
    r = run(fake_ip, "%dhcp_dora")
    html = r._repr_html_()
    assert "<table>" in html and "10.9.0.50" in html and "ACK" in html
    assert "<pre>" in fake_ip.user_ns["dhcp"]._repr_html_()


def test_pkt_edit_send_dump_loop(fake_ip):
    run(fake_ip, "d = %dhcp_discover --window 0")
    edited = run(fake_ip, "%pkt_edit BOOTP.hops=3 DHCP.hostname=probe -DHCP.param_req_list")   # as docs/shell.md
    session = fake_ip.user_ns["dhcp"]
    assert session.next_packet is edited and edited["BOOTP"].hops == 3
    names = [o[0] for o in edited["DHCP"].options if isinstance(o, tuple)]
    assert "param_req_list" not in names and "hostname" in names
    assert "param_req_list" in [o[0] for o in session.last_sent()["DHCP"].options if isinstance(o, tuple)]
    shown = repr(edited)  # as %pkt_dump shows it, not Scapy's long repr
    assert shown == run(fake_ip, "%pkt_dump dhcp.next_packet") and "hops=3" in shown
    assert "hostname='probe'" in shown and "<Ether" not in shown
    assert session.last_sent()["BOOTP"].hops == 0            # the original is untouched
    sent = run(fake_ip, "%pkt_send --count 2 --wait 0.3")
    assert sent.status == "answered" and len(sent.sent) == 2 and len(sent.received) == 2
    assert sent.received[0].type_name == "OFFER" and "OFFER 10.9.0.50 from 10.9.0.1" in repr(sent)
    assert [h.direction for h in session.history][-4:] == ["out", "out", "in", "in"]
    text = run(fake_ip, "%pkt_dump --diff")
    assert text == "no differences" or "BOOTP" in text
    edit_vs_original = run(fake_ip, "%pkt_dump dhcp.next_packet --diff d.sent_packets[0]")
    assert "BOOTP.hops" in edit_vs_original and "DHCP.hostname" in edit_vs_original


def test_pkt_edit_of_an_expression_and_views(fake_ip, tmp_path):
    run(fake_ip, "r = %dhcp_dora")
    edited = run(fake_ip, "%pkt_edit r.steps[0].sent_packets[0] BOOTP.secs=9")
    assert edited["BOOTP"].secs == 9
    assert "message-type=5 (ACK)" in run(fake_ip, "%pkt_dump r")
    assert run(fake_ip, "%pkt_dump --summary r").count("\n") == 3
    assert "0000" in run(fake_ip, "%pkt_dump --hex")
    path = tmp_path / "all.pcap"
    assert "wrote" in run(fake_ip, f"%pkt_dump --pcap {path}") and path.stat().st_size > 100


def test_pkt_magic_mistakes(fake_ip):
    with pytest.raises(UsageError, match="no packet yet|nothing to send"):
        run(fake_ip, "%pkt_send")
    run(fake_ip, "%dhcp_discover --window 0")
    with pytest.raises(UsageError, match="cannot evaluate"):
        run(fake_ip, "%pkt_dump no_such_name")
    with pytest.raises(UsageError, match="no field"):
        run(fake_ip, "%pkt_edit BOOTP.nope=1")
    with pytest.raises(UsageError, match="2 replies"):
        fake_ip.user_ns["dhcp"].history.clear()
        run(fake_ip, "%pkt_dump --diff")


def test_pkt_edit_without_a_terminal_prefills_a_cell(fake_ip, capsys):
    run(fake_ip, "%dhcp_discover --window 0")
    assert run(fake_ip, "%pkt_edit") is None
    cell = fake_ip.rl_next_input
    assert cell.startswith("%pkt_edit ") and "BOOTP.hops=0" in cell and "DHCP.message-type=1" in cell
    assert "new cell" in capsys.readouterr().out
    edited = run(fake_ip, cell.replace("BOOTP.hops=0", "BOOTP.hops=5"))
    assert edited["BOOTP"].hops == 5


def test_sweep_magic(fake_ip, tmp_path):
    report = run(fake_ip, f"%dhcp_sweep --lengths 0-2,300 --no-headers --no-lies --no-progress -t 0.1 "
                          f"--json {tmp_path / 'r.json'} --pcap {tmp_path / 'r.pcap'}")
    assert [r.name for r in report.rows] == ["len-00000", "len-00001", "len-00002", "len-00300"]
    assert report.answered_lengths == [300] and (tmp_path / "r.json").exists() and (tmp_path / "r.pcap").exists()
    malformed = run(fake_ip, "%dhcp_sweep --malformed no-end,hlen-0 --no-progress -t 0.1")
    assert [r.name for r in malformed.rows] == ["no-end", "hlen-0"]
    with pytest.raises(UsageError, match="0-300"):
        run(fake_ip, "%dhcp_sweep --lengths x")
    with pytest.raises(UsageError, match="no unfinished"):
        run(fake_ip, "%dhcp_sweep --resume --no-progress")


def test_the_sessions_timeout_survives_loading_the_extension(ip):
    session = DhcpSession(transport=Transport("fake0", sock=FakeSocket()), mac="02:00:00:00:00:07",
                          state_file=False, timeout=9.5)
    ip.user_ns["dhcp"] = session
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    assert session.timeout == 9.5


def test_config_after_unload_and_reload_reaches_only_the_new_instance(ip):
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    old = ip.user_ns["dhcp"]
    ip.run_line_magic("unload_ext", "scapy_dhcp_ext")
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    new = ip.user_ns["dhcp"]
    assert new is not old
    ip.run_line_magic("config", "DhcpMagics.timeout = 9")
    assert new.timeout == 9 and old.timeout == 3.0  # the old session is not written to again
    assert sum(type(c).__name__ == "DhcpMagics" for c in ip.configurables) == 1


def test_every_magic_answers_help_as_people_type_it(fake_ip, capsys):
    names = [n for n in fake_ip.magics_manager.magics["line"] if n.startswith(("dhcp_", "pkt_"))]
    assert "dhcp_load" in names and len(names) >= 14
    for name in names:
        magic = fake_ip.magics_manager.magics["line"][name]
        for word in ("--help", "-h"):
            assert run(fake_ip, f"%{name} {word}") is None
            out = capsys.readouterr().out
            assert f"%{name}" in out and out.strip() == magic.__doc__.strip(), (name, out)


def test_load_magic_runs_a_load_and_returns_its_result(fake_ip):
    r = run(fake_ip, "%dhcp_load --clients 20 --duration 0.3 --window 4 --no-progress")
    assert type(r).__name__ == "LoadResult" and r.completed > 0 and r.clients == 20 and r.in_flight == 4
    assert fake_ip.user_ns["dhcp"].last is r
    with pytest.raises(UsageError, match="clients"):
        run(fake_ip, "%dhcp_load --clients 0 --no-progress")


def test_serve_magic_refuses_beside_a_server_then_starts_shows_and_stops(fake_ip):
    with pytest.raises(UsageError, match=r"another DHCP server answers on fake0: 10\.9\.0\.1"):
        run(fake_ip, "%dhcp_serve")
    srv = run(fake_ip, "%dhcp_serve 10.9.0.100-10.9.0.120 --force --lease-time 90 --macs 02:00:00:00:00:99 "
                       "-o domain=magic.test")
    session = fake_ip.user_ns["dhcp"]
    assert session.server is srv and srv.running and srv.lease_time == 90 and str(srv.pool) == "10.9.0.100-10.9.0.120"
    assert "answers only 02:00:00:00:00:99" in repr(srv) and b"magic.test" in srv.opts.common
    assert run(fake_ip, "%dhcp_serve") is srv
    with pytest.raises(UsageError, match="already running"):
        run(fake_ip, "%dhcp_serve 10.9.0.0/24 --force")
    assert run(fake_ip, "%dhcp_serve --stop") is srv and not srv.running
    with pytest.raises(UsageError, match="no server is running"):
        run(fake_ip, "%dhcp_serve --stop")


def test_check_magic_runs_the_chosen_checks_and_writes_junit(fake_ip, tmp_path):
    junit = tmp_path / "checks.xml"
    r = run(fake_ip, f"%dhcp_check server --only offer-has-server-id,xid-echoed --no-progress --junit {junit}")
    assert type(r).__name__ == "CheckReport" and r.verdicts() == {"offer-has-server-id": "pass", "xid-echoed": "pass"}
    assert fake_ip.user_ns["dhcp"].last is r and junit.read_text().count("<testcase") == 2
    with pytest.raises(UsageError, match="unknown check 'nope'"):
        run(fake_ip, "%dhcp_check server --only nope --no-progress")
    with pytest.raises(UsageError, match="invalid choice"):
        run(fake_ip, "%dhcp_check both")


def test_v6_magic_mistakes_are_usage_errors_that_say_what_to_type(fake_ip):
    with pytest.raises(UsageError, match="KEY=VALUE"):
        fake_ip.run_line_magic("dhcp6_sarr", "--option user_class")
    with pytest.raises(UsageError, match="add --relay"):
        fake_ip.run_line_magic("dhcp6_sarr", "--interface-id eth0")
    with pytest.raises(UsageError, match="ENTERPRISE:TEXT"):
        fake_ip.run_line_magic("dhcp6_sarr", "--relay fd77:1::5 --remote-id nonum")
    with pytest.raises(UsageError, match="no v6 lease to renew"):
        fake_ip.run_line_magic("dhcp6_renew", "")
    with pytest.raises(UsageError, match="unknown DHCPv6 option"):
        fake_ip.run_line_magic("dhcp6_sarr", "--option no_such=1")
    with pytest.raises(UsageError, match="unrecognized arguments: --no-such-flag"):
        fake_ip.run_line_magic("dhcp6_sarr", "--no-such-flag")
    assert fake_ip.run_line_magic("dhcp6_session", "--duid EN --enterprise 9 --identifier hex:0102").duid == \
        bytes.fromhex("00020000000901 02".replace(" ", ""))
