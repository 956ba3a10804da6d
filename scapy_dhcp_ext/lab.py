"""A lab: real DHCP servers in network namespaces, one veth link away.

Usage::

    with Lab("kea") as lab:              # or "dnsmasq", or ["kea", "dnsmasq"]
        session = DhcpSession(iface=lab.iface)
        print(session.dora().lease)
        print(lab.servers[0].leases())   # the server's own lease database

Layout: a namespace ``sdl-<id>`` holds a bridge; the client end of a veth pair
(``lab.iface``, in the caller's namespace, no address, IPv6 off) plugs into
it, and each server runs in a namespace of its own (``sdl-<id>-s<k>``) wired
to the same bridge. Everything is named with the lab's id and removed on exit,
by name and PID, also when something fails; ``cleanup_stale()`` removes labs
left by a process that was killed.

dnsmasq runs with ``--no-ping``: by default it pings an address before
offering it, which delays every new OFFER by 3 seconds. Kea runs with raw
sockets and a memfile lease database with ``lfc-interval`` 0.
"""

from __future__ import annotations

import atexit
import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .labclients import CLIENT_KINDS, Client, client_command, terminate

PREFIX = "sdl-"
SERVER_KINDS = ("dnsmasq", "kea", "kea6", "dnsmasq6")
V6_KINDS = ("kea6", "dnsmasq6")
SUBNET6 = "fd77:1"                 # the v6 lab's ULA /64 is fd77:1::/64
PD_POOL6 = "fd77:1:2::/48"         # Kea delegates /56s from it


class LabError(RuntimeError):
    """The lab could not be set up; the message says what is missing."""


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin:/usr/bin")
    if not path:
        raise LabError(f"{binary} is not installed: apt-get install {package}")
    return path


@dataclass
class Lease:
    """One row of a server's lease database."""

    address: str
    mac: str
    expires: float        # epoch seconds; 0 for a lease with no end
    hostname: str = ""
    active: bool = True


@dataclass
class Lease6Row:
    """One row of a v6 server's lease database: an address (``prefix_len``
    128) or a delegated prefix, the client's DUID (hex) and IAID."""

    address: str
    duid: str
    iaid: int
    expires: float
    prefix_len: int = 128
    kind: str = "NA"     # "NA" or "PD"
    active: bool = True
    state: int = 0       # Kea's: 0 default, 1 declined, 2 expired-reclaimed

    @property
    def prefix(self) -> str:
        return f"{self.address}/{self.prefix_len}"


@dataclass
class Server:
    """One DHCP server process in its own namespace."""

    kind: str
    netns: str
    address: str
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        """The server's whole log, the generations it rotated out included (Kea
        rotates past 10 MB; 2.6 logs every packet at INFO), oldest first."""
        rotated = sorted(self.workdir.glob("server.log.*"), key=lambda p: -int(p.suffix[1:])
                         if p.suffix[1:].isdigit() else 0)
        parts = [p for p in rotated if p.suffix[1:].isdigit()] + [self.workdir / "server.log"]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    @property
    def v6(self) -> bool:
        return self.kind in V6_KINDS

    def leases6(self, *, every: bool = False) -> list[Lease6Row]:
        """A v6 server's lease database as it is on disk now: the active rows
        (``every``: Kea's released and declined ones too, latest per address)."""
        rows: list[Lease6Row] = []
        if self.kind == "dnsmasq6":
            path = self.workdir / "leases"
            for line in path.read_text().splitlines() if path.exists() else []:
                parts = line.split()
                # expiry, IAID, address, hostname, client DUID; "duid" lines name the server's own
                if len(parts) >= 5 and parts[0] != "duid" and ":" in parts[2]:
                    rows.append(Lease6Row(parts[2], parts[4].replace(":", "").lower(), int(parts[1]),
                                          float(parts[0])))
            return rows
        path = self.workdir / "leases6.csv"
        latest: dict[tuple[str, int], Lease6Row] = {}
        if path.exists():
            with path.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    valid = int(row.get("valid_lifetime") or 0)
                    state = int(row.get("state") or 0)
                    kind = "PD" if row.get("lease_type") == "2" else "NA"
                    latest[(row["address"], int(row.get("prefix_len") or 128))] = Lease6Row(
                        row["address"], row["duid"].replace(":", "").lower(), int(row.get("iaid") or 0),
                        float(row.get("expire") or 0), int(row.get("prefix_len") or 128), kind,
                        active=valid > 0 and state == 0, state=state)
        return [r for r in latest.values() if every or r.active]

    def leases(self) -> list[Lease]:
        """The server's lease database as it is on disk now: the active leases."""
        if self.v6:
            raise LabError(f"{self.kind} keeps v6 leases: read them with leases6()")
        if self.kind == "dnsmasq":
            path = self.workdir / "leases"
            rows = []
            for line in path.read_text().splitlines() if path.exists() else []:
                parts = line.split()
                if len(parts) >= 4:
                    rows.append(Lease(parts[2], parts[1].lower(), float(parts[0]),
                                      "" if parts[3] == "*" else parts[3]))
            return rows
        path = self.workdir / "leases.csv"
        latest: dict[str, Lease] = {}
        if path.exists():
            with path.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    valid = int(row.get("valid_lifetime") or 0)
                    state = int(row.get("state") or 0)
                    latest[row["address"]] = Lease(row["address"], row["hwaddr"].lower(),
                                                   float(row.get("expire") or 0), row.get("hostname", ""),
                                                   active=valid > 0 and state == 0)
        return [lease for lease in latest.values() if lease.active]

    def lease_for(self, mac: str) -> Lease | None:
        return next((x for x in self.leases() if x.mac == mac.lower()), None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Lab:
    """Namespaces, veth links and DHCP servers for trying and testing.

    ``servers`` is a kind or a list of kinds ("dnsmasq", "kea"); each gets its
    own address in ``subnet`` (.1, .2, ...) and its own pool. ``extra`` adds a
    namespace on the same link without a server, for fake devices."""

    def __init__(self, servers: str | Sequence[str] = "dnsmasq", *, subnet: str = "10.77.0",
                 lease_time: int = 3600, domain: str = "lab.test", lab_id: str | None = None,
                 extra: int = 0, large_pool: bool = False, clients: str | Sequence[str] = ()) -> None:
        kinds = [servers] if isinstance(servers, str) else list(servers)
        for kind in kinds:
            if kind not in SERVER_KINDS:
                raise ValueError(f"unknown server {kind!r}: choose from {', '.join(SERVER_KINDS)}")
        self.client_kinds = [clients] if isinstance(clients, str) else list(clients)
        for kind in self.client_kinds:
            if kind not in CLIENT_KINDS:
                raise ValueError(f"unknown client {kind!r}: choose from {', '.join(CLIENT_KINDS)}")
        self.clients: list[Client] = []
        self.kinds = kinds
        self.subnet = subnet
        self.lease_time = lease_time
        self.domain = domain
        self.id = lab_id or secrets.token_hex(3)
        self.netns = PREFIX + self.id
        self.iface = f"sd{self.id}c"
        self.servers: list[Server] = []
        self.extra = extra
        self.large_pool = large_pool   # a /16 with 64,000 addresses, for load
        self.extra_netns: list[str] = []
        self.workdir: Path | None = None
        self._started = False

    # -- lifecycle --------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Lab:
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces): run it with sudo")
        _require("ip", "iproute2")
        cleanup_stale()  # labs whose process was killed before it could remove them
        self.workdir = Path(tempfile.mkdtemp(prefix=f"scapy-dhcp-lab-{self.id}-"))
        (self.workdir / "owner").write_text(str(os.getpid()))
        self._started = True
        # Also gone when the interpreter exits (a notebook kernel that stops after a failed cell).
        atexit.register(self.stop)
        try:
            self._make_link()
            for k, kind in enumerate(self.kinds):
                self.servers.append(self._start_server(k, kind))
            for k in range(self.extra):
                self.extra_netns.append(self._add_host(f"x{k}", f"{self.subnet}.{250 - k}/24",
                                                       cidr6=f"{SUBNET6}::{0xfa - k:x}/64" if self.v6 else None))
            for server in self.servers:
                self._wait_ready(server)
            for k, kind in enumerate(self.client_kinds):
                self.clients.append(self._start_client(k, kind))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops every server and removes every namespace and link of this lab."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        for client in self.clients:
            client.stop()
        for server in self.servers:
            terminate(server.proc)
        remove_lab(self.id)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- building ---------------------------------------------------------

    def _ns(self, netns: str, *args: str) -> None:
        _run("ip", "netns", "exec", netns, *args)

    def _make_link(self) -> None:
        _run("ip", "netns", "add", self.netns)
        self._ns(self.netns, "ip", "link", "set", "lo", "up")
        self._ns(self.netns, "ip", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                 "mcast_snooping", "0")
        self._ns(self.netns, "ip", "link", "set", "br0", "up")
        # With br_netfilter loaded, a bridge checks IP headers and drops the ones
        # that lie (IP length past the frame): the lab's link must be a plain wire.
        # The bridge's namespace takes no part in IPv6 (br0 would send its own MLD and router solicitations).
        self._ns(self.netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        for family in ("iptables", "ip6tables", "arptables"):
            _run("ip", "netns", "exec", self.netns, "sysctl", "-qw", f"net.bridge.bridge-nf-call-{family}=0",
                 check=False)
        _run("ip", "link", "add", self.iface, "type", "veth", "peer", "name", "c0", "netns", self.netns)
        Path(f"/proc/sys/net/ipv6/conf/{self.iface}/disable_ipv6").write_text("1")
        self._ns(self.netns, "ip", "link", "set", "c0", "master", "br0", "up")
        _run("ip", "link", "set", self.iface, "up")

    def _add_host(self, tag: str, cidr: str | None, mac: str | None = None, cidr6: str | None = None) -> str:
        netns = f"{self.netns}-{tag}"
        _run("ip", "netns", "add", netns)
        self._ns(netns, "ip", "link", "set", "lo", "up")
        self._ns(self.netns, "ip", "link", "add", tag, "type", "veth", "peer", "name", "eth0",
                 "netns", netns)
        self._ns(self.netns, "ip", "link", "set", tag, "master", "br0", "up")
        if cidr6 is None:
            self._ns(netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        else:
            # A v6 server's link-local address must be valid, not tentative, before it starts: no DAD.
            for key in ("all", "default", "eth0"):
                self._ns(netns, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
            self._ns(netns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=0")
            self._ns(netns, "ip", "-6", "addr", "add", cidr6, "dev", "eth0", "nodad")
        if mac is not None:
            self._ns(netns, "ip", "link", "set", "eth0", "address", mac)
        if cidr is not None:
            self._ns(netns, "ip", "addr", "add", cidr, "dev", "eth0")
        self._ns(netns, "ip", "link", "set", "eth0", "up")
        return netns

    def _start_client(self, k: int, kind: str) -> Client:
        """A real DHCP client in a namespace of its own, with no address until it gets one."""
        mac = f"02:5c:{self.id[0:2]}:{self.id[2:4]}:{self.id[4:6]}:{k:02x}"
        netns = self._add_host(f"dev{k}", None, mac)  # "c0" is the lab link's own end
        assert self.workdir is not None
        workdir = self.workdir / f"dev{k}"
        workdir.mkdir()
        client = Client(kind, netns, mac, workdir, client_command(kind, workdir))
        client.start()
        return client

    def _start_server(self, k: int, kind: str) -> Server:
        if kind in V6_KINDS:
            return self._start_server6(k, kind)
        address = f"{self.subnet}.{k + 1}"
        netns = self._add_host(f"s{k}", f"{address}/{16 if self.large_pool else 24}")
        assert self.workdir is not None
        workdir = self.workdir / f"s{k}"
        workdir.mkdir()
        first, last = f"{self.subnet}.{100 + 50 * k}", f"{self.subnet}.{149 + 50 * k}"
        prefix, mask = self.subnet + ".0/24", "255.255.255.0"
        if self.large_pool:
            octets = self.subnet.split(".")[:2]
            first, last = ".".join(octets + ["1", "0"]), ".".join(octets + ["250", "255"])
            prefix, mask = ".".join(octets + ["0", "0"]) + "/16", "255.255.0.0"
        server = Server(kind, netns, address, workdir)
        # One server is authoritative (it NAKs what it does not know); several
        # on one link are not, or each would NAK the requests meant for another.
        authoritative = len(self.kinds) == 1
        if kind == "dnsmasq":
            argv = [_require("dnsmasq", "dnsmasq-base"), "--conf-file=/dev/null", "--port=0",
                    "--bind-interfaces", "--interface=eth0", "--except-interface=lo",
                    "--keep-in-foreground", "--no-ping", "--user=root",
                    "--group=root", f"--dhcp-range={first},{last},{mask},{self.lease_time}",
                    f"--dhcp-option=option:router,{address}",
                    f"--dhcp-option=option:dns-server,{address}",
                    f"--dhcp-option=option:domain-name,{self.domain}",
                    f"--dhcp-leasefile={workdir / 'leases'}", f"--pid-file={workdir / 'pid'}",
                    "--dhcp-lease-max=100000", "--log-dhcp", f"--log-facility={workdir / 'server.log'}",
                    *(["--dhcp-authoritative"] if authoritative else [])]
            env = None
        else:
            config = {"Dhcp4": {
                "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},
                "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                                   "name": str(workdir / "leases.csv")},
                "authoritative": authoritative,
                # One thread answers in the order packets came (Kea 2.4+ defaults to
                # several): sweeps rely on it, as they do on a device's own server.
                "multi-threading": {"enable-multi-threading": False},
                "valid-lifetime": self.lease_time,
                "renew-timer": self.lease_time // 2,
                "rebind-timer": self.lease_time * 7 // 8,
                "subnet4": [{"id": 1, "subnet": prefix,
                             "pools": [{"pool": f"{first} - {last}"}],
                             "option-data": [
                                 {"name": "routers", "data": address},
                                 {"name": "domain-name-servers", "data": address},
                                 {"name": "domain-name", "data": self.domain}]}],
                "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                             # Kea rotates its log past 10 MB, keeping one older file;
                             # 2.6 logs every packet at INFO: the lab keeps it whole.
                             "output_options": [{"output": str(workdir / "server.log"),
                                                 "maxsize": 1 << 30, "maxver": 1}]}],
            }}
            (workdir / "kea.json").write_text(json.dumps(config, indent=1))
            argv = [_require("kea-dhcp4", "kea-dhcp4-server"), "-c", str(workdir / "kea.json")]
            # Kea 2.6.2 and later accept log, lease and socket files only in its own
            # folders (/var/log/kea, /var/lib/kea, /run/kea) unless these say otherwise;
            # 2.2 ignores them. The lab's files stay in the lab's folder.
            env = {**os.environ, **{f"KEA_{name}": str(workdir) for name in (
                "PIDFILE_DIR", "LOCKFILE_DIR", "LOG_FILE_DIR", "DHCP_DATA_DIR", "CONTROL_SOCKET_DIR")}}
        return self._launch(server, argv, env)

    def _launch(self, server: Server, argv: list[str], env: dict[str, str] | None) -> Server:
        out = (server.workdir / "stdout.log").open("wb")
        server.proc = subprocess.Popen(["ip", "netns", "exec", server.netns, *argv], stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, start_new_session=True)
        out.close()
        return server

    def _start_server6(self, k: int, kind: str) -> Server:
        """Kea DHCPv6 or dnsmasq in DHCPv6 mode, on fd77:1::/64 (server k at
        fd77:1::k+1); Kea also delegates /56 prefixes from fd77:1:2::/48 and does
        rapid commit. IPv4 stays off in its namespace's link."""
        address = f"{SUBNET6}::{k + 1}"
        netns = self._add_host(f"s{k}", None, cidr6=f"{address}/64")
        assert self.workdir is not None
        workdir = self.workdir / f"s{k}"
        workdir.mkdir()
        first, last = f"{SUBNET6}::{0x100 * (k + 1):x}", f"{SUBNET6}::{0x100 * (k + 1) + 0xff:x}"
        if self.large_pool:   # 65,536 addresses, for load
            first, last = f"{SUBNET6}::{k + 1:x}:0", f"{SUBNET6}::{k + 1:x}:ffff"
        server = Server(kind, netns, address, workdir)
        preferred, valid = self.lease_time * 3 // 4, self.lease_time
        if kind == "dnsmasq6":
            argv = [_require("dnsmasq", "dnsmasq-base"), "--conf-file=/dev/null", "--port=0",
                    "--bind-interfaces", "--interface=eth0", "--except-interface=lo", "--keep-in-foreground",
                    "--user=root", "--group=root", f"--dhcp-range={first},{last},64,{self.lease_time}",
                    f"--dhcp-option=option6:dns-server,[{address}]",
                    f"--dhcp-option=option6:domain-search,{self.domain}",
                    f"--dhcp-leasefile={workdir / 'leases'}", f"--pid-file={workdir / 'pid'}",
                    "--log-dhcp", f"--log-facility={workdir / 'server.log'}"]
            return self._launch(server, argv, None)
        config = {"Dhcp6": {
            "interfaces-config": {"interfaces": ["eth0"]},
            # No DUID file to write: a fresh one each start.
            "server-id": {"type": "LL", "persist": False},
            "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                               "name": str(workdir / "leases6.csv")},
            "multi-threading": {"enable-multi-threading": False},
            "preferred-lifetime": preferred, "valid-lifetime": valid,
            "renew-timer": self.lease_time // 2, "rebind-timer": self.lease_time * 4 // 5,
            "subnet6": [{"id": 1, "subnet": f"{SUBNET6}::/64", "interface": "eth0", "rapid-commit": True,
                         "pools": [{"pool": f"{first} - {last}"}],
                         "pd-pools": [{"prefix": PD_POOL6.split("/")[0], "prefix-len": 48, "delegated-len": 56}],
                         "option-data": [{"name": "dns-servers", "data": address},
                                         {"name": "domain-search", "data": self.domain}]}],
            "loggers": [{"name": "kea-dhcp6", "severity": "INFO",
                         "output_options": [{"output": str(workdir / "server.log"),
                                             "maxsize": 1 << 30, "maxver": 1}]}],
        }}
        (workdir / "kea.json").write_text(json.dumps(config, indent=1))
        env = {**os.environ, **{f"KEA_{name}": str(workdir) for name in (
            "PIDFILE_DIR", "LOCKFILE_DIR", "LOG_FILE_DIR", "DHCP_DATA_DIR", "CONTROL_SOCKET_DIR")}}
        return self._launch(server, [_require("kea-dhcp6", "kea-dhcp6-server"), "-c", str(workdir / "kea.json")],
                            env)

    def _wait_ready(self, server: Server, timeout: float = 10.0) -> None:
        """Waits until the server says it started and listens on port 67."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not server.alive():
                out = (server.workdir / "stdout.log").read_text(errors="replace").strip()
                raise LabError(f"{server.kind} exited at start: {out or server.log}"[:2000])
            mark = {"kea": "DHCP4_STARTED", "kea6": "DHCP6_STARTED"}.get(server.kind, "started, version")
            port = 547 if server.v6 else 67
            if mark in server.log and _run("ip", "netns", "exec", server.netns, "ss", "-Hlun", f"sport = :{port}",
                                           check=False).stdout.strip():
                return
            time.sleep(0.02)
        raise LabError(f"{server.kind} did not start listening within {timeout} s")

    @property
    def v6(self) -> bool:
        """Whether this lab's servers speak DHCPv6."""
        return any(kind in V6_KINDS for kind in self.kinds)

    # -- helpers for tests ----------------------------------------------

    def add_address(self, cidr: str) -> None:
        """Gives the client-side interface an address (a relay's giaddr, say)."""
        _run("ip", "addr", "add", cidr, "dev", self.iface)

    def __repr__(self) -> str:
        servers = ", ".join(f"{s.kind} {s.address}" for s in self.servers) or "none"
        clients = ", ".join(f"{c.kind} {c.mac}" for c in self.clients)
        tail = f", clients: {clients}>" if clients else ">"
        return f"<Lab {self.id}: iface {self.iface}, servers: {servers}{tail}"


def _pids_in(netns: str) -> list[int]:
    proc = _run("ip", "netns", "pids", netns, check=False)
    return [int(p) for p in proc.stdout.split()]


def remove_lab(lab_id: str) -> None:
    """Removes the namespaces, links and processes of the lab with this id."""
    base = PREFIX + lab_id
    names = [n for n in list_namespaces() if n == base or n.startswith(base + "-")]
    for netns in names:
        for pid in _pids_in(netns):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for netns in names:
        _run("ip", "netns", "del", netns, check=False)
    _run("ip", "link", "del", f"sd{lab_id}c", check=False)


def list_namespaces() -> list[str]:
    proc = _run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _owner_alive(lab_id: str) -> bool:
    """Whether the process that made this lab still runs (its PID is in the lab's folder)."""
    for owner in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*/owner"):
        try:
            os.kill(int(owner.read_text()), 0)
            return True
        except (ValueError, OSError):
            continue
    return False


def cleanup_stale() -> list[str]:
    """Removes the labs whose process is gone (killed before it could clean up);
    labs of running processes are left alone. Returns the ids removed."""
    ids = sorted({n[len(PREFIX):].split("-")[0] for n in list_namespaces() if n.startswith(PREFIX)})
    stale = [lab_id for lab_id in ids if not _owner_alive(lab_id)]
    for lab_id in stale:
        remove_lab(lab_id)
        for folder in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*"):
            shutil.rmtree(folder, ignore_errors=True)
    # A folder whose namespaces went but whose owner died before removing it (killed mid-cleanup).
    for owner in Path(tempfile.gettempdir()).glob("scapy-dhcp-lab-*-*/owner"):
        lab_id = owner.parent.name[len("scapy-dhcp-lab-"):].split("-")[0]
        if lab_id not in ids and not _owner_alive(lab_id):
            shutil.rmtree(owner.parent, ignore_errors=True)
    return stale
