"""A labgrid remote place on this machine, made of labgrid's own parts: its
coordinator, an exporter that exports a lab link, a place acquired with
``labgrid-client``, and an sshd of the test's own on loopback (labgrid reaches an
exporter's host over ssh; its ``RawNetworkInterfaceDriver`` runs
``sudo labgrid-raw-interface`` there). Everything it starts is stopped, and the
place deleted, by ``stop()``, also when a test fails.

The exporter publishes its host as ``HOST``; the ssh of the pytest run it serves
(``env()``: a ``PATH`` whose ``ssh`` reads the test's own ssh_config) takes that
name to the test's sshd with the test's own key. Nothing of root's ``~/.ssh``
is read or written.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "scapy-dhcp-exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout:.0f} s")


BIN = Path(sys.executable).parent   # the environment that runs the tests, with labgrid's commands


def labgrid_bin(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


class RemotePlace:
    def __init__(self, workdir: Path, iface: str, name: str) -> None:
        self.dir = workdir
        self.iface = iface
        self.name = name          # of the place and of the exporter
        self.coordinator = f"127.0.0.1:{free_port()}"
        self.ssh_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.place_made = False
        self.acquired = False

    # -- the parts --------------------------------------------------------

    def _start(self, what: str, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{what}.log", "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **kw)   # type: ignore[call-overload]
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, what: str) -> str:
        path = self.dir / f"{what}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _sshd(self) -> None:
        d = self.dir
        for key in ("host_key", "id"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
        shutil.copy(d / "id.pub", d / "authorized_keys")
        (d / "sshd_config").write_text(f"""\
Port {self.ssh_port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
""")
        (d / "ssh_config").write_text(f"""\
Host {HOST}
  HostName 127.0.0.1
  Port {self.ssh_port}
  User root
  IdentityFile {d / 'id'}
  IdentitiesOnly yes
  UserKnownHostsFile {d / 'known_hosts'}
  LogLevel ERROR
""")
        host_key = (d / "host_key.pub").read_text().split()
        (d / "known_hosts").write_text(f"[127.0.0.1]:{self.ssh_port} {host_key[0]} {host_key[1]}\n")
        bin_dir = d / "bin"
        bin_dir.mkdir()
        (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {d / "ssh_config"} "$@"\n')
        (bin_dir / "ssh").chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # sshd's privilege separation
        proc = self._start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")])
        _wait_port(self.ssh_port, proc, "sshd")

    def env(self) -> dict[str, str]:
        """The environment of a labgrid client of this place (pytest, labgrid-client)."""
        path = f"{self.dir / 'bin'}:{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        # LG_AGENT_PREFIX: where labgrid's agent is copied to on the exporter's host (else root's home).
        return {**os.environ, "PATH": path, "LG_COORDINATOR": self.coordinator, "LG_PLACE": self.name,
                "LG_AGENT_PREFIX": str(self.dir)}

    def _client(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([labgrid_bin("labgrid-client"), "-x", self.coordinator, *args], env=self.env(),
                              capture_output=True, text=True, timeout=60)

    def client(self, *args: str) -> str:
        """``labgrid-client`` on this place; its output, or a RuntimeError with it."""
        out = self._client("-p", self.name, *args)
        if out.returncode != 0:
            raise RuntimeError(f"labgrid-client {' '.join(args)}: {out.stdout}{out.stderr}")
        return out.stdout

    def start(self) -> RemotePlace:
        try:
            return self._start_all()
        except BaseException:
            self.stop()
            raise

    def _start_all(self) -> RemotePlace:
        self._sshd()
        proc = self._start("coordinator", [labgrid_bin("labgrid-coordinator"), "-l", self.coordinator],
                           cwd=self.dir)
        _wait_port(int(self.coordinator.rsplit(":", 1)[1]), proc, "labgrid-coordinator")
        (self.dir / "exporter.yaml").write_text(f"lab:\n  NetworkInterface:\n    ifname: {self.iface}\n")
        self._start("exporter", [labgrid_bin("labgrid-exporter"), "-c", self.coordinator, "-n", self.name,
                                 "--hostname", HOST, str(self.dir / "exporter.yaml")], env=self.env())
        self._wait_resource()
        self.client("create")
        self.place_made = True
        self.client("add-match", f"{self.name}/lab/*")
        self.client("acquire")
        self.acquired = True
        return self

    def _wait_resource(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if f"{self.name}/lab/RemoteNetworkInterface" in self._client("resources").stdout:
                return
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited: {self.log('exporter')}{self.log('coordinator')}")
            time.sleep(0.3)
        raise RuntimeError(f"the exporter's resource did not appear: {self.log('exporter')}")

    def stop(self) -> None:
        for done, args in ((self.acquired, ("release",)), (self.place_made, ("delete",))):
            if done:
                try:
                    self.client(*args)
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass   # the coordinator is stopped below either way
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
        self.procs.clear()

    def __enter__(self) -> RemotePlace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
