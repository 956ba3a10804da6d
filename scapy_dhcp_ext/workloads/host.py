"""What a workload needs of the session that runs it, as typed protocols.

Sweeps, loads and checks drive the roles below them; the session façade
(:mod:`scapy_dhcp_ext.session`) sits above and hands itself in. They meet
through these protocols, so no workload imports the façade.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from ..link.transport import Transport
    from ..roles.results4 import Lease, Offer
    from ..roles.server4 import DhcpServer
    from ..state.endpoint import Endpoint
    from ..wire.messages4 import MessageOptions


class SweepHost(Protocol):
    """What a sweep needs of the client role it drives: the endpoint (socket,
    MAC, history, notes), the message options of its base DISCOVER, and the
    lease or offers that name the device for ARP and ICMP probes."""

    endpoint: Endpoint
    lease: Lease | None
    offers: list[Offer]
    options: MessageOptions
    last: Any


class Host(SweepHost, Protocol):
    """What a check or the reply sweep needs besides: the socket, the server
    role running on the endpoint (if any), and a way to start one."""

    server: DhcpServer | None

    @property
    def transport(self) -> Transport: ...

    def serve(self, pool: str | None = None, **kwargs: Any) -> DhcpServer: ...


def drives(workload: Callable[..., Any]) -> Callable[..., Any]:
    """A method of the session that runs ``workload(session, ...)``: the façade's
    sweeps are these, so a workload's own docstring and signature are the method's."""
    @functools.wraps(workload)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return workload(self, *args, **kwargs)
    return method
