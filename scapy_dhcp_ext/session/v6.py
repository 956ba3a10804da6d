"""``dhcp.v6``: the DHCPv6 client role with the workloads that drive it.

:class:`~scapy_dhcp_ext.roles.client6.Client6` holds the exchanges (SOLICIT,
SARR, RENEW ...); this façade adds the v6 sweeps and load, which sit a layer
above the roles (:mod:`scapy_dhcp_ext.workloads.sweep6`, ``load6``).
"""

from __future__ import annotations

from typing import Any

from ..errors import old_keyword, renamed
from ..roles import serve6
from ..roles.client6 import Client6
from ..roles.server6 import Dhcp6Server
from ..workloads import client_checks6, load6, reply_sweep6, server_checks6, sweep6
from ..workloads.host import drives


class Dhcp6Session(Client6):
    """The v6 client on a session's endpoint, as ``dhcp.v6`` shows it, and the v6 server
    role beside it (``dhcp.v6.server``, once ``serve()`` ran)."""

    server: Dhcp6Server | None = None
    devices: Any = None   # what holds restart_device and release_device (the session)
    check_server = drives(server_checks6.check_server6)

    def check_client(self, **kwargs: Any) -> Any:
        """RFC 8415 checks of the DHCPv6 client on the link; see
        :mod:`scapy_dhcp_ext.workloads.client_checks6`. ``restart``, ``release`` and ``link_change``
        default to the session's ``restart_device``, ``release_device`` and ``link_change_device``
        (the lab client's, in the lab shell)."""
        kwargs.setdefault("restart", getattr(self.devices, "restart_device", None))
        kwargs.setdefault("release", getattr(self.devices, "release_device", None))
        kwargs.setdefault("link_change", getattr(self.devices, "link_change_device", None))
        return client_checks6.check_client6(self, **kwargs)

    def sweep_replies(self, only: Any = None, **kwargs: Any) -> Any:
        """Hostile ADVERTISEs and REPLYs to the DHCPv6 client on the link, a verdict each; see
        :mod:`scapy_dhcp_ext.workloads.reply_sweep6`. ``restart`` defaults to the session's
        ``restart_device`` (the lab client's, in the lab shell)."""
        kwargs.setdefault("restart", getattr(self.devices, "restart_device", None))
        return reply_sweep6.sweep_replies6(self, only, **kwargs)

    def serve(self, addresses: str | None = None, **kwargs: Any) -> Dhcp6Server:
        """A DHCPv6 server on this interface, in the background; see :mod:`scapy_dhcp_ext.roles.server6`."""
        self.server = serve6.serve6(self.endpoint, addresses, current=self.server, **kwargs)
        return self.server

    sweep_lengths = drives(sweep6.sweep_lengths6)
    sweep_malformed = drives(sweep6.sweep_malformed6)

    def load(self, *, clients: int = 1000, duration: float = 5.0, rate: float | None = None, in_flight: int = 16,
             rapid_commit: bool = False, timeout: float = 1.0, progress: bool = True, seed: int | None = None,
             window: int | None = None) -> Any:
        """Many v6 clients (DUIDs) doing SARR, or rapid commit, at once, like
        perfdhcp -6; see :mod:`scapy_dhcp_ext.workloads.load6`."""
        in_flight = old_keyword("dhcp.v6.load", "window", "in_flight", window, in_flight)
        result = load6.run_load6(self.endpoint, clients=clients, duration=duration, rate=rate, in_flight=in_flight,
                                 rapid_commit_=rapid_commit, timeout=timeout, progress=progress, seed=seed)
        self.last = result
        return result

    sweep_lengths6 = renamed("sweep_lengths", "sweep_lengths6", where="dhcp.v6.")
    sweep_malformed6 = renamed("sweep_malformed", "sweep_malformed6", where="dhcp.v6.")
    load6 = renamed("load", "load6", where="dhcp.v6.")
