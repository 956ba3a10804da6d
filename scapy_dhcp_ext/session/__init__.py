"""The session: one façade over the roles on one endpoint, and the workloads that drive them.

``DhcpSession`` is what the shell calls ``dhcp``. It is the DHCPv4 client role
(:class:`~scapy_dhcp_ext.roles.client4.Client4`: ``discover()``, ``dora()``,
``renew()`` ...) plus what sits on the same endpoint beside it: the server role
(``serve()``, kept in ``dhcp.server``), the DHCPv6 client (``dhcp.v6``), and the
workloads (sweeps, load, the reply sweep, the checks), which return reports and
leave the last one in ``dhcp.last``.

Usage::

    >>> dhcp = DhcpSession("eth1")
    >>> dhcp.dora(hostname="probe").lease
    >>> srv = dhcp.serve("10.77.0.100-10.77.0.199")
    >>> dhcp.v6.sarr(ia_pd=True)
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import UsageError, old_keyword
from ..link.exchange import Exchange
from ..roles import serve4
from ..roles.client4 import Client4
from ..roles.interrupts import interruptible
from ..roles.results4 import Result
from ..wire.frames4 import parse_frame
from ..wire.frames6 import is_ipv6
from ..workloads import client_checks4, load4, reply_sweep4, server_checks4, sweep4
from ..workloads.host import drives
from .v6 import Dhcp6Session


class DhcpSession(Client4):
    """The v4 client role and everything else on its endpoint; see the module's docstring.

    Takes what :class:`~scapy_dhcp_ext.roles.client4.Client4` takes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.next_packet: Any = None   # the last edited packet, sent by send_packet() by default
        self.server: serve4.DhcpServer | None = None   # the server role on this endpoint, once serve() ran
        # What restarts the device under test (a lab client's restart), for check_client() and sweep_replies(),
        # and what makes it renew now (a lab client's renew), for sweep_replies()' renew case.
        self.restart_device: Callable[[], Any] | None = None
        self.release_device: Callable[[], Any] | None = None   # the lab client's, in the lab shell
        self.renew_device: Callable[[], Any] | None = None
        self.inform_device: Callable[[], Any] | None = None    # the lab's dhcpcd: a static address, --inform
        self.link_change_device: Callable[[], Any] | None = None   # takes its link down and up (check_client6)
        self._v6: Dhcp6Session | None = None   # the v6 client role on this endpoint, made on first use
        if self.endpoint.same_link and isinstance(self.endpoint.saved.get("v6"), dict):
            self.v6   # noqa: B018  (the v6 role takes its saved state back, so that a v4 save keeps it)

    @property
    def v6(self) -> Dhcp6Session:
        """The DHCPv6 client on this session's endpoint (same interface, MAC,
        history and state file); see :mod:`scapy_dhcp_ext.roles.client6`."""
        if self._v6 is None:
            self._v6 = Dhcp6Session(self.endpoint, timeout=self.timeout, window=self.window)
            self._v6.devices = self   # the device's levers (restart_device ...) are the session's
        return self._v6

    @interruptible("SEND")
    def send_packet(self, pkt: Any = None, *, count: int = 1, timeout: float | None = None,
                    window: float = 0.2, wait: float | None = None) -> Result:
        """Sends a packet as it is (a Scapy packet or bytes; by default the last
        edited one, else the last sent) ``count`` times on the session's socket,
        then collects the replies that match its xid and chaddr: until ``window``
        seconds after the first, or ``timeout`` seconds (``wait=`` was its old name).
        No reply is a result too."""
        timeout = old_keyword("send_packet", "wait", "timeout", wait, timeout)
        raw = self._packet_bytes(pkt)
        if is_ipv6(raw):   # IPv6: the v6 client's socket, matched on its transaction id
            result = self.v6._send_packet(raw, count=count, timeout=timeout, window=window)   # saved once, here
            self.last = result
            return result
        frame = parse_frame(raw)
        xid = frame.xid if frame.xid is not None else 0
        sent = [(self.endpoint.send(raw, "SEND", xid), raw) for _ in range(max(1, count))]
        if frame.xid is not None:
            ex = self.endpoint.exchange(None, "SEND", xid=xid, chaddr=frame.chaddr, done=lambda f: True,
                                        timeout=self.timeout if timeout is None else timeout, window=window)
        else:
            ex = Exchange()
        ex.sent = sent
        result = self._result("SEND", ex, "answered" if ex.replies else "timeout")
        result.xid = frame.xid
        result.reply = ex.replies[-1] if ex.replies else None
        self.last = result
        return result

    def _packet_bytes(self, pkt: Any) -> bytes:
        if pkt is None:
            pkt = self.next_packet if self.next_packet is not None else self.last_sent()
        if pkt is None:
            raise UsageError("nothing to send yet: give a packet, or discover() first")
        if isinstance(pkt, (bytes, bytearray)):
            return bytes(pkt)
        from ..wire.pktools import to_packet

        try:
            return bytes(to_packet(pkt))
        except Exception as exc:
            raise UsageError(f"that packet does not build: {exc}") from None

    sweep_lengths = drives(sweep4.sweep_lengths)
    sweep_malformed = drives(sweep4.sweep_malformed)

    def load(self, *, clients: int = 1000, duration: float = 5.0, rate: float | None = None, in_flight: int = 16,
             release: bool = False, timeout: float = 1.0, progress: bool = True, seed: int | None = None,
             window: int | None = None) -> Any:
        """Many clients doing DORA at once, like perfdhcp: ``rate`` per second, or
        closed loop with ``in_flight`` exchanges at once (``window=`` was its old name). Returns ``.rate``,
        ``.drops`` and latency percentiles; see :mod:`scapy_dhcp_ext.workloads.load4`.
        ``seed`` makes the clients' MACs the same from run to run."""
        in_flight = old_keyword("load", "window", "in_flight", window, in_flight)
        result = load4.run_load(self.endpoint, clients=clients, duration=duration, rate=rate, in_flight=in_flight,
                                release=release, timeout=timeout, progress=progress, seed=seed)
        self.last = result
        return result

    def serve(self, pool: str | None = None, **kwargs: Any) -> Any:
        """A DHCP server on this interface, in the background; see :mod:`scapy_dhcp_ext.roles.server4`."""
        self.server = serve4.serve(self.endpoint, pool, current=self.server, **kwargs)
        return self.server

    def sweep_replies(self, only: Any = None, **kwargs: Any) -> Any:
        """Hostile replies to a device's DHCP client, each with a verdict; see :mod:`.reply_sweep4`.
        ``restart`` defaults to the session's ``restart_device`` (the lab client's, in the lab shell), as
        for :meth:`check_client`: without it a client bound for an hour is not back for the next case;
        ``renew`` to its ``renew_device``: a server of yours already running gives hour-long leases, and
        a client renews on its own only at half of one."""
        kwargs.setdefault("restart", self.restart_device)
        kwargs.setdefault("renew", self.renew_device)
        return reply_sweep4.sweep_replies(self, only, **kwargs)

    def check_server(self, **kwargs: Any) -> Any:
        """RFC conformance checks for the DHCP server on the link; see :mod:`.server_checks4`."""
        return server_checks4.check_server(self, **kwargs)

    def check_client(self, **kwargs: Any) -> Any:
        """RFC conformance checks for the DHCP client on the link; see :mod:`.client_checks4`.
        ``restart``, ``release``, ``renew`` and ``inform`` default to the session's ``restart_device``,
        ``release_device``, ``renew_device`` and ``inform_device`` (the lab client's, in the lab shell)."""
        kwargs.setdefault("restart", self.restart_device)
        kwargs.setdefault("release", self.release_device)
        kwargs.setdefault("renew", self.renew_device)
        kwargs.setdefault("inform", self.inform_device)
        return client_checks4.check_client(self, **kwargs)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self._v6 is not None and self._v6.server is not None:
            self._v6.server.stop()
        self.endpoint.close()
