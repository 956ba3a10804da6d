"""``serve()``: starts the server role (:class:`~.server4.DhcpServer`) on an
endpoint, never as a rogue server by accident: only on an interface named for
this run, and only after one DISCOVER of its own got no answer (``force=True``
overrides; the other server is named).

    >>> srv = serve(endpoint, "10.77.0.100-10.77.0.199", lease_time=60)
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import DhcpError, UsageError, old_keyword
from ..link.exchange import Backoff
from ..state.endpoint import Endpoint
from ..wire import DISCOVER, mac_str, new_xid
from ..wire.messages4 import MessageOptions, build_message
from .leases4 import Pool
from .server4 import DhcpServer
from .serving import may_serve, refuse_beside


class RogueServer(UsageError):
    """Another DHCP server answers on the link: serve() does not start beside it."""


def serve(endpoint: Endpoint, pool: str | None = None, *, current: DhcpServer | None = None,
          iface: str | None = None, lease_time: int = 3600,
          t1: int | None = None, t2: int | None = None, options: Any = None,
          server_ip: str | None = None, on_reply: Callable[[Any, Any], Any] | None = None,
          intercept: bool | str = False, macs: Iterable[str] | None = None, force: bool = False,
          timeout: float = 1.0, probe_timeout: float | None = None, capture: str | None = None,
          before_start: Callable[[DhcpServer], Any] | None = None) -> DhcpServer:
    """Starts a DHCP server on the endpoint's interface (``current`` is the one
    already running there, if any); ``timeout`` is how long its DISCOVER waits for
    another server's OFFER; ``capture`` a pcapng file for every frame it sees
    and sends, each commented with why (a ring: see :mod:`~scapy_dhcp_ext.state.capture`);
    ``before_start(server)`` runs before the first request is read (a workload
    attaches its hooks there: :meth:`DhcpServer.attach`); see the module's docstring."""
    timeout = old_keyword("serve", "probe_timeout", "timeout", probe_timeout, timeout)
    name = may_serve(endpoint, iface, current, "serve", "srv.stop() (or %dhcp_serve --stop)")
    try:
        own = endpoint.transport.link_ipv4()
    except (OSError, DhcpError):
        own = None   # no such interface: the probe below says so in one line (a test's fake one works)
    try:
        chosen = Pool.parse(pool, server_ip=server_ip, iface_address=own)
        server = DhcpServer(endpoint, chosen, lease_time=lease_time, t1=t1, t2=t2, options=options,
                            on_reply=on_reply, intercept=intercept, macs=macs, capture=capture)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    xid = new_xid()
    probe = build_message(DISCOVER, mac=endpoint.mac, xid=xid, opts=MessageOptions())
    ex = endpoint.exchange(probe, "SERVE-PROBE", xid=xid, chaddr=endpoint.mac_bytes, timeout=timeout,
                           done=lambda f: True, backoff=Backoff(first=timeout * 2))
    who = ", ".join(sorted({f"{f.server} ({mac_str(f.eth_src)})" for f in ex.replies}))
    refuse_beside(endpoint, who, name, what="serve", protocol="DHCP", error=RogueServer, force=force)
    if before_start is not None:
        before_start(server)
    return server.start()
