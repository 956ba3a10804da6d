"""The scapy-dhcp command: in-process main(), and a real terminal typed at as a person would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pexpect
import pytest

from scapy_dhcp_ext.front.cli import main
from scapy_dhcp_ext.lab import PREFIX
from tests.support.labs import left_behind
from tests.support.labs import ours as our_namespaces

COMMAND = str(Path(sys.executable).with_name("scapy-dhcp"))


def run_c(capsys, *argv: str) -> str:
    """``main(argv)`` in-process: it succeeds, and leaves no lab behind."""
    before = our_namespaces()
    rc = main(list(argv))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert not left_behind(before)
    return out


@pytest.mark.lab
def test_lab_client_serves_a_real_udhcpc_from_c(tmp_path, capsys):
    out = run_c(capsys, "--lab-client", "udhcpc", "--state", str(tmp_path / "s.json"), "-c",
                "srv = serve(); lease = srv.wait_lease(); bound = lab.clients[0].wait_event('bound')\n"
                "print('SERVED', lease.address, lease.mac, srv.pool.server_ip)\n"
                "print('CLIENT', bound['ip'], lab.clients[0].mac, bound['serverid'])\n"
                "print('RESTARTS', dhcp.restart_device == lab.clients[0].restart)\n"
                "print('RENEWS', dhcp.renew_device == lab.clients[0].renew)\n"
                "import pathlib\nprint('LEASEFILE', pathlib.Path(srv.keeper.file.path).name)")
    lease_file = re.search(r"LEASEFILE (\S+)", out).group(1)
    assert lease_file.startswith("leases4-") and not (tmp_path / lease_file).exists()   # the link went: its leases
    assert "RESTARTS True" in out   # check_client() starts the lab's client over when it must
    assert "RENEWS True" in out     # and sweep_replies() makes it renew
    served = re.search(r"SERVED (\S+) (\S+) (\S+)", out)
    client = re.search(r"CLIENT (\S+) (\S+) (\S+)", out)
    assert served and client and served.groups() == client.groups(), out   # udhcpc itself reports it


@pytest.mark.lab
def test_c_runs_code_against_a_lab_and_cleans_up(tmp_path, capsys):
    out = run_c(capsys, "--lab", "kea", "--state", str(tmp_path / "s.json"), "-c",
                "r = dora(); print('LEASE', r.lease.address, r.lease.server_id, r.lease.lease_time);"
                "print('NAMES', callable(sr1), callable(dhcp_request), conf.checkIPaddr); release();"
                "dhcp.backoff = Backoff.rfc2131(); print('BACKOFF', dhcp.backoff.first)")
    assert "LEASE 10.77.0.1" in out and " 10.77.0.1 3600" in out and "NAMES True True False" in out
    assert "BACKOFF 4.0" in out


@pytest.mark.lab
def test_c_exit_status_follows_the_code(tmp_path, capsys):
    state = ["--state", str(tmp_path / "s.json")]
    assert main(["--lab", "-c", "raise ValueError('boom')", *state]) == 1
    assert "ValueError: boom" in capsys.readouterr().err
    assert main(["--lab", "-c", "discover(timeout=0.2, hostname=1, options={'lease_time': 'x'})", *state]) != 0
    assert main(["--lab", "--timeout", "0.3", "-c", "request(address='10.99.0.1', timeout=0.3)", *state]) == 0


@pytest.mark.lab
def test_c_ctrl_c_during_dora_exits_130(tmp_path, capsys):
    code = ("import os, signal, threading\n"
            "lab.servers[0].proc.send_signal(signal.SIGSTOP)\n"      # the server goes silent
            "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "try:\n    dora(timeout=5)\nfinally:\n    lab.servers[0].proc.send_signal(signal.SIGCONT)\n")
    assert main(["--lab", "--state", str(tmp_path / "s.json"), "-c", code]) == 130
    err = capsys.readouterr().err
    assert err.startswith("scapy-dhcp: interrupted") and err.count("\n") == 1


@pytest.mark.lab
def test_missing_interface_is_one_line(capsys):
    assert main(["--iface", "nosuch0", "-c", "pass"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no interface 'nosuch0'" in err


def test_a_lab_kind_that_is_not_one_is_argparses_one_line(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--lab", "dnsmasq,bind9", "-c", "pass"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "'bind9' is not a lab server: choose from dnsmasq, kea" in err


@pytest.mark.lab
def test_two_lab_servers_on_one_link_and_ipython_syntax_in_c(tmp_path, capsys):
    """``--lab dnsmasq,kea``: both answer (their offers name two server ids); ``-c`` takes a magic."""
    out = run_c(capsys, "--lab", "dnsmasq,kea", "--state", str(tmp_path / "s.json"), "-c",
                "d = discover(window=1.0)\nprint('SERVERS', sorted(o.server_id for o in d.offers))\n"
                "r = %dhcp_dora --hostname probe\nprint('MAGIC', r.status, [s.kind for s in lab.servers])")
    assert re.search(r"SERVERS \['10\.77\.0\.\d+', '10\.77\.0\.\d+'\]", out) and "MAGIC bound ['dnsmasq', 'kea']" in out
    servers = re.findall(r"'(10\.77\.0\.\d+)'", re.search(r"SERVERS (.*)", out).group(1))
    assert len(set(servers)) == 2, out


@pytest.mark.lab
def test_a_bad_mac_is_one_line(capsys):
    assert main(["--iface", "lo", "--mac", "02:zz", "--state", "/nonexistent/s.json", "-c", "pass"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a MAC address: '02:zz'" in err


@pytest.mark.lab
def test_remembers_the_interface(tmp_path, capsys):
    state = str(tmp_path / "s.json")
    assert main(["--iface", "lo", "--state", state, "-c", "pass"]) == 0
    assert main(["--state", state, "-c", "print('IFACE', dhcp.iface)"]) == 0
    assert "IFACE lo" in capsys.readouterr().out


@pytest.mark.lab
def test_corrupt_state_file_is_set_aside_and_the_command_still_runs(tmp_path, capsys):
    state = tmp_path / "s.json"
    state.write_text("{garbage")
    assert main(["--state", str(state), "-c", "print('STATE', dhcp.state)"]) == 0
    captured = capsys.readouterr()
    assert "STATE INIT" in captured.out and "not valid JSON" in captured.err
    assert list(tmp_path.glob("s.json.bad-*"))


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as err:
        main(["--version"])
    assert err.value.code == 0 and capsys.readouterr().out.startswith("scapy-dhcp ")
    with pytest.raises(SystemExit) as err:
        main(["--help"])
    out = capsys.readouterr().out
    assert err.value.code == 0
    for words in ("--iface", "--mac", "--lab", "--state", "--timeout", "-c CODE", "sudo scapy-dhcp"):
        assert words in out, words


def _unprivileged_main(argv: list[str]) -> tuple[int, str]:
    """main() in a child that has dropped root (as nobody), or as we are when we are not root."""
    if os.geteuid() != 0:
        import io
        from contextlib import redirect_stderr
        err = io.StringIO()
        with redirect_stderr(err):
            return main(argv), err.getvalue()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing it needs is read from disk after this
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sys.stderr = os.fdopen(write, "w")
            rc = main(argv)
            sys.stderr.flush()
        except BaseException:
            rc = 99
        os._exit(rc)
    os.close(write)
    with os.fdopen(read) as fh:
        err = fh.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


def test_without_root_one_line_says_what_to_do(tmp_path):
    rc, err = _unprivileged_main(["--state", str(tmp_path / "x.json"), "-c", "dora()"])
    assert rc == 2
    assert err == "scapy-dhcp: raw sockets need root: run with sudo (sudo scapy-dhcp ...)\n"


def lab_processes(lab_id: str) -> str:
    """Server processes of that lab (their command lines name its folder)."""
    return subprocess.run(["pgrep", "-af", f"scapy-dhcp-lab-{lab_id}-"], capture_output=True, text=True).stdout


def prompt(n: int) -> str:
    """IPython's ``In [n]: `` with any colour codes around the number."""
    return rf"In \[(\x1b\[[0-9;]*m)*{n}(\x1b\[[0-9;]*m)*\]: "


def spawn_lab_shell(tmp_path, *args: str, kind: str = "dnsmasq") -> tuple[pexpect.spawn, str]:
    """The shell against a new lab, at its first prompt; and the lab's id, read
    off the banner (other labs may come and go meanwhile: not ours to count)."""
    child = pexpect.spawn(COMMAND, ["--lab", kind, "--state", str(tmp_path / "s.json"), *args], encoding="utf-8",
                          timeout=30, dimensions=(50, 200), env={**os.environ, "TERM": "xterm"})
    child.expect(prompt(1))
    found = re.search(r"in namespace sdl-([0-9a-f]+)", child.before)
    assert found, child.before
    return child, found.group(1)


def lab_is_gone(lab_id: str) -> None:
    assert not {n for n in our_namespaces() if n.startswith(f"{PREFIX}{lab_id}")}
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"sd{lab_id}c" not in links
    assert not list(Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*"))
    assert not lab_processes(lab_id)


@pytest.mark.lab
def test_a_person_at_the_prompt(tmp_path):
    child, lab_id = spawn_lab_shell(tmp_path, "--mac", "02:aa:bb:cc:dd:01")
    assert {f"{PREFIX}{lab_id}", f"{PREFIX}{lab_id}-s0"} <= our_namespaces()  # the lab is up while the shell runs
    assert "dnsmasq" in lab_processes(lab_id)
    child.sendline("r = dora()")
    child.expect(prompt(2))
    child.sendline("print('ADDR', r.lease.address)")
    child.expect(r"ADDR 10\.77\.0\.\d+")
    child.expect(prompt(3))
    child.sendline("%dhcp_session")
    child.expect("state BOUND")
    child.expect(prompt(4))
    child.sendline("%dhcp_release")
    child.expect("RELEASE SENT")
    child.expect(prompt(5))
    child.sendline("renew()")
    child.expect("UsageError: no lease to renew")
    child.expect(prompt(6))
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    lab_is_gone(lab_id)


@pytest.mark.lab
def test_mac_is_the_clients_chaddr_in_the_servers_lease_database(tmp_path, capsys):
    mac = "02:aa:bb:cc:dd:02"
    code = ("r = dora(); lease = lab.servers[0].lease_for(dhcp.mac)\n"
            "print('SERVER', lease.mac, lease.address == r.lease.address)")
    assert main(["--lab", "--mac", mac, "--state", str(tmp_path / "s.json"), "-c", code]) == 0
    assert f"SERVER {mac} True" in capsys.readouterr().out


@pytest.mark.lab
@pytest.mark.parametrize("how", ["sigterm", "sighup", "ctrl-d"])
def test_leaving_any_way_removes_the_lab(tmp_path, how):
    child, lab_id = spawn_lab_shell(tmp_path)
    if how == "ctrl-d":
        child.sendcontrol("d")
    else:
        child.kill(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    if how != "ctrl-d":
        assert child.signalstatus is None and child.exitstatus == 128 + (15 if how == "sigterm" else 1)
    lab_is_gone(lab_id)


@pytest.mark.lab
def test_c_load_for_outside_scripts(tmp_path, capsys):
    rc = main(["--lab", "kea", "--state", str(tmp_path / "s.json"), "-c",
               "r = load(duration=1, clients=40, progress=False); print('LOAD', r.rate > 0, r.drops)"])
    assert rc == 0 and "LOAD True 0" in capsys.readouterr().out


@pytest.mark.lab
def test_a_person_at_the_prompt_of_the_v6_lab(tmp_path):
    child, lab_id = spawn_lab_shell(tmp_path, kind="kea6")
    assert "kea6 at fd77:1::1" in child.before and "sarr6()" in child.before
    child.sendline("r = sarr6(ia_pd=True)")
    child.expect(prompt(2))
    child.sendline("print('GOT', r.lease.address, r.lease.prefix)")
    child.expect(r"GOT (fd77:1::[0-9a-f]+) (fd77:1:2:[0-9a-f:]*/56)")
    address, prefix = child.match.group(1), child.match.group(2)
    child.expect(prompt(3))
    child.sendline("print('KEA', sorted(x.prefix for x in lab.servers[0].leases6()))")
    child.expect(r"KEA \[.*\]")
    assert f"'{address}/128'" in child.after and f"'{prefix}'" in child.after
    child.expect(prompt(4))
    child.sendline("%dhcp6_session")
    child.expect("state BOUND")
    child.expect(prompt(5))
    child.sendline("sweep_malformed6(['relay-nest-33'], progress=False)")
    child.expect("1 cases in")
    child.expect(prompt(6))
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    lab_is_gone(lab_id)


def test_a_lab_client_that_is_not_one_is_argparses_one_line(capsys):
    for spec, said in (("dhclient", "unknown client 'dhclient': choose from udhcpc, dhcpcd, embedded"),
                       ("embedded:crash-on-everything", "unknown option 'crash-on-everything' for the embedded")):
        with pytest.raises(SystemExit) as exited:
            main(["--lab-client", spec, "-c", "pass"])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and said in err and "Traceback" not in err, err
