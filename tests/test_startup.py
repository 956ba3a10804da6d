"""The startup files, and `sudo scapy-dhcp` for a user who followed the README."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ipython_profile_startup_file_loads_the_extension(tmp_path):
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy(ROOT / "startup" / "ipython" / "50-scapy-dhcp.py", startup)
    code = "print('MAGIC', 'dhcp_dora' in get_ipython().magics_manager.magics['line'], callable(dora))"
    out = subprocess.run([str(BIN / "ipython"), "--no-banner", "-c", code], capture_output=True, text=True,
                         env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"), "XDG_STATE_HOME": str(tmp_path)})
    assert "MAGIC True True" in out.stdout, out.stderr


def test_scapy_startup_file_gives_plain_scapy_the_helpers(tmp_path):
    child = pexpect.spawn(str(BIN / "scapy"), ["-c", str(ROOT / "startup" / "scapy" / "startup.py")],
                          encoding="utf-8", timeout=60, dimensions=(40, 160),
                          env={**os.environ, "XDG_STATE_HOME": str(tmp_path), "HOME": str(tmp_path), "TERM": "xterm"})
    child.expect("scapy-dhcp .*helpers")
    child.expect(">>> ")
    child.sendline("print('HELPERS', callable(dora), callable(sweep_lengths), type(dhcp).__name__, conf.checkIPaddr)")
    child.expect("HELPERS True True DhcpSession False")
    child.sendline("exit()")
    child.expect(pexpect.EOF)


@pytest.fixture
def new_user():
    """A user made for this test, allowed to sudo, removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("sudo"):
        pytest.skip("needs root, useradd and sudo (the README's test command installs sudo)")
    name = "sdt" + secrets.token_hex(3)
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    rule = Path(f"/etc/sudoers.d/{name}")
    rule.write_text(f"{name} ALL=(ALL) NOPASSWD: ALL\n")
    rule.chmod(0o440)
    try:
        yield name
    finally:
        rule.unlink()
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


@pytest.mark.lab
def test_sudo_scapy_dhcp_works_for_a_new_user(new_user):
    if not Path("/usr/local/bin/scapy-dhcp").exists():
        pytest.skip("the install step (./dev.sh install) puts scapy-dhcp in /usr/local/bin")
    def as_user(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["su", "-", new_user, "-c", command], capture_output=True, text=True)

    plain = as_user("scapy-dhcp -c 'dora()'")
    assert plain.returncode == 2 and plain.stderr.strip().endswith("run with sudo (sudo scapy-dhcp ...)")
    lab = as_user("sudo -n scapy-dhcp --lab -c 'print(\"LEASE\", dora().lease.address)'")
    assert lab.returncode == 0 and "LEASE 10.77.0." in lab.stdout, lab.stderr
    home = Path(f"~{new_user}").expanduser()
    state = home / ".local" / "state" / "scapy-dhcp" / "lab" / "state.json"
    assert state.exists() and state.stat().st_uid == int(subprocess.run(["id", "-u", new_user], capture_output=True,
                                                                         text=True).stdout)
