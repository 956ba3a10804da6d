"""The lab's DHCP servers: how each is configured and started in its namespace,
and its own lease database read back (the oracle the tests hold our code to).

dnsmasq runs with ``--no-ping``: by default it pings an address before
offering it, which delays every new OFFER by 3 seconds. Kea runs with raw
sockets and a memfile lease database with ``lfc-interval`` 0.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .common import LabError, require, run

SERVER_KINDS = ("dnsmasq", "kea", "kea6", "dnsmasq6")
V6_KINDS = ("kea6", "dnsmasq6")
SUBNET6 = "fd77:1"                 # the v6 lab's ULA /64 is fd77:1::/64
PD_POOL6 = "fd77:1:2::/48"         # Kea delegates /56s from it


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


class ServerLauncher:
    """How a :class:`~.lab.Lab` starts its servers (the lab's settings are its own)."""

    kinds: Sequence[str]
    subnet: str
    lease_time: int
    domain: str
    large_pool: bool
    workdir: Path | None

    def _add_host(self, tag: str, cidr: str | None, mac: str | None = None,
                  cidr6: str | None = None) -> str:
        raise NotImplementedError   # the Lab's: a namespace on the lab's link

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
            argv = [require("dnsmasq", "dnsmasq-base"), "--conf-file=/dev/null", "--port=0",
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
                # Kea as it ships (its default): silent to a client it has no record of, as RFC 2131
                # 4.3.2 says; dnsmasq, alone on the link, NAKs it (the deviation tables say so).
                "authoritative": False,
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
            argv = [require("kea-dhcp4", "kea-dhcp4-server"), "-c", str(workdir / "kea.json")]
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
            argv = [require("dnsmasq", "dnsmasq-base"), "--conf-file=/dev/null", "--port=0",
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
        return self._launch(server, [require("kea-dhcp6", "kea-dhcp6-server"), "-c", str(workdir / "kea.json")],
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
            if mark in server.log and run("ip", "netns", "exec", server.netns, "ss", "-Hlun", f"sport = :{port}",
                                           check=False).stdout.strip():
                return
            time.sleep(0.02)
        raise LabError(f"{server.kind} did not start listening within {timeout} s")

