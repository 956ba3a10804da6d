"""``check_server()``: RFC conformance checks for the DHCP server on the link.

The server is a black box. The checks learn its pool from its first OFFER,
act as clients of their own (fresh MACs, so the session's own lease is left
alone) and judge what comes back. Each is a short protocol script: send,
then the pass criteria. Exchanges several checks judge (one DORA, say) run
once and are cited as evidence by each.

Checks that change what the server holds beyond a lease of their own
(RELEASE, DECLINE, a forged RELEASE) run only with ``destructive=True``; the
leases the checks took are released at the end.

RFCs: 2131 (4.1 addressing, 4.3 server behaviour and table 3), 2132 (9.8,
9.10), 3046 (2.2), 951, 1122 (1.2.2).

Usage::

    >>> report = check_server()                       # dhcp.check_server()
    server 10.77.0.1: 30 pass, 1 warn, 3 n/a in 4.1 s
    >>> check_server(only=["xid-echoed"]), check_server(destructive=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ..errors import old_keyword
from ..wire import mac_str
from . import (
    server_checks4_fields,
    server_checks4_life,
    server_checks4_more,
    server_checks4_options,
    server_checks4_replies,
)
from .checks import Check, CheckReport, run_checks
from .checks import select as select_checks
from .server_probe4 import ServerProbe

if TYPE_CHECKING:
    from .host import Host

# The order they run in: what a reply carries (and table 3), what a server owes a client, a lease's life,
# the server side of the CVE record (each followed by a new client's DISCOVER), the checks that change
# the server's state (destructive=True), and the robustness check last (it sends malformed requests).
_LIFE = server_checks4_life.CHECKS
SERVER_CHECKS: list[Check] = [*server_checks4_replies.CHECKS, *server_checks4_fields.CHECKS,
                              *server_checks4_more.CHECKS, *server_checks4_options.CHECKS,
                              *[c for c in _LIFE if not c.destructive][:-1],
                              *server_checks4_more.ROBUST, *[c for c in _LIFE if c.destructive], _LIFE[-1]]


def check_server(session: Host, *, only: Iterable[str] | str | None = None,
                 skip: Iterable[str] | str | None = None, destructive: bool = False, timeout: float = 4.0,
                 quiet: float = 1.0, server: str | None = None, progress: bool = True,
                 wait: float | None = None) -> CheckReport:
    """Runs the server checks (``only`` some, less ``skip``) against the DHCP
    server on the session's link (the first to OFFER, or ``server``) and
    returns the report. ``timeout`` bounds each reply, ``quiet`` each silence
    the rules require. Ctrl-C returns what was done.

    >>> r = check_server(destructive=True); r.failed; r.to_junit("server.xml")
    """
    wait = old_keyword("check_server", "wait", "timeout", wait, timeout)
    checks = select_checks(SERVER_CHECKS, only, skip)
    probe = ServerProbe(session, wait=wait, quiet=quiet, server=server)
    report = CheckReport("server")
    try:
        first = probe.learn()
        report.target = probe.server_id or mac_str(first.offer.eth_src if first.offer else b"")
        run_checks(report, checks, probe, destructive=destructive, progress=progress)
    finally:
        probe.cleanup()
    session.last = report
    return report


__all__ = ["SERVER_CHECKS", "ServerProbe", "check_server"]
