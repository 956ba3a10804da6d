"""A lab: real DHCP servers or clients in network namespaces, one veth link away.

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
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from .clients import Client, client_command, parse_spec
from .clients6 import V6_CLIENT_KINDS
from .common import PREFIX, LabError, cleanup_stale, lineage, remove_lab, require, run, terminate
from .servers import SERVER_KINDS, SUBNET6, V6_KINDS, Server, ServerLauncher


class Lab(ServerLauncher):
    """Namespaces, veth links and DHCP servers for trying and testing.

    ``servers`` is a kind or a list of kinds ("dnsmasq", "kea"); each gets its
    own address in ``subnet`` (.1, .2, ...) and its own pool. ``extra`` adds a
    namespace on the same link without a server, for fake devices (or perfdhcp),
    with an IPv6 address too when a server speaks DHCPv6 or ``ipv6=True``."""

    def __init__(self, servers: str | Sequence[str] = "dnsmasq", *, subnet: str = "10.77.0",
                 lease_time: int = 3600, domain: str = "lab.test", lab_id: str | None = None,
                 extra: int = 0, large_pool: bool = False, clients: str | Sequence[str] = (),
                 ipv6: bool = False) -> None:
        kinds = [servers] if isinstance(servers, str) else list(servers)
        for kind in kinds:
            if kind not in SERVER_KINDS:
                raise ValueError(f"unknown server {kind!r}: choose from {', '.join(SERVER_KINDS)}")
        self.client_kinds = [clients] if isinstance(clients, str) else list(clients)
        for kind in self.client_kinds:
            parse_spec(kind)   # a ValueError that names what is wrong, before anything starts
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
        self.ipv6 = ipv6
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
        require("ip", "iproute2")
        cleanup_stale()  # labs whose process was killed before it could remove them
        self.workdir = Path(tempfile.mkdtemp(prefix=f"scapy-dhcp-lab-{self.id}-"))
        (self.workdir / "lineage").write_text(" ".join(map(str, lineage())))
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
        run("ip", "netns", "exec", netns, *args)

    def _make_link(self) -> None:
        run("ip", "netns", "add", self.netns)
        self._ns(self.netns, "ip", "link", "set", "lo", "up")
        self._ns(self.netns, "ip", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                 "mcast_snooping", "0")
        self._ns(self.netns, "ip", "link", "set", "br0", "up")
        # With br_netfilter loaded, a bridge checks IP headers and drops the ones
        # that lie (IP length past the frame): the lab's link must be a plain wire.
        # The bridge's namespace takes no part in IPv6 (br0 would send its own MLD and router solicitations).
        self._ns(self.netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        for family in ("iptables", "ip6tables", "arptables"):
            run("ip", "netns", "exec", self.netns, "sysctl", "-qw", f"net.bridge.bridge-nf-call-{family}=0",
                 check=False)
        run("ip", "link", "add", self.iface, "type", "veth", "peer", "name", "c0", "netns", self.netns)
        Path(f"/proc/sys/net/ipv6/conf/{self.iface}/disable_ipv6").write_text("1")
        self._ns(self.netns, "ip", "link", "set", "c0", "master", "br0", "up")
        run("ip", "link", "set", self.iface, "up")

    def _add_host(self, tag: str, cidr: str | None, mac: str | None = None, cidr6: str | None = None,
                  dad: bool | None = None) -> str:
        """A namespace on the lab's link: IPv4 ``cidr``, IPv6 ``cidr6`` (without DAD); IPv6 on and no
        address for a v6 client when ``dad`` is given (its kernel's duplicate address detection on or off)."""
        netns = f"{self.netns}-{tag}"
        run("ip", "netns", "add", netns)
        self._ns(netns, "ip", "link", "set", "lo", "up")
        self._ns(self.netns, "ip", "link", "add", tag, "type", "veth", "peer", "name", "eth0",
                 "netns", netns)
        self._ns(self.netns, "ip", "link", "set", tag, "master", "br0", "up")
        if dad is not None:   # a DHCPv6 client: no router on the lab's link, so no RA to wait for
            for key in ("all", "default", "eth0"):
                self._ns(netns, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad={int(dad)}")
            self._ns(netns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=0")
        elif cidr6 is None:
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
        kind_name, options = parse_spec(kind)
        v6 = kind_name in V6_CLIENT_KINDS
        # "c0" is the lab link's own end
        netns = self._add_host(f"dev{k}", None, mac, dad=("shipped" in options) if v6 else None)
        assert self.workdir is not None
        workdir = self.workdir / f"dev{k}"
        workdir.mkdir()
        client = Client(kind_name, netns, mac, workdir, client_command(kind, workdir, mac), spec=kind)
        client.start()
        return client

    @property
    def v6(self) -> bool:
        """Whether this lab's servers speak DHCPv6 (or its extra namespaces were asked for IPv6)."""
        return self.ipv6 or any(kind in V6_KINDS for kind in self.kinds)

    # -- helpers for tests ----------------------------------------------

    def add_address(self, cidr: str) -> None:
        """Gives the client-side interface an address (a relay's giaddr, say)."""
        run("ip", "addr", "add", cidr, "dev", self.iface)

    def __repr__(self) -> str:
        servers = ", ".join(f"{s.kind} {s.address}" for s in self.servers) or "none"
        clients = ", ".join(f"{c.kind} {c.mac}" for c in self.clients)
        tail = f", clients: {clients}>" if clients else ">"
        return f"<Lab {self.id}: iface {self.iface}, servers: {servers}{tail}"


