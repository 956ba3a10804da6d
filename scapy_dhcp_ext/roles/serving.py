"""What ``serve()`` and ``serve6()`` both ask before a server starts on an endpoint."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..state.endpoint import Endpoint


def may_serve(endpoint: Endpoint, iface: str | None, current: Any, what: str, stop: str) -> str:
    """The interface to serve on: only one named for this run (never a remembered one), and only
    when no server of this kind (``current``) runs there; else a UsageError that says what to do."""
    if iface is not None and iface != endpoint.iface:
        raise UsageError(f"the session is on {endpoint.iface}; move it first: dhcp.use({iface!r})")
    if iface is None and not endpoint.named:
        raise UsageError(f"{what}() answers only on an interface named for this run, never a remembered "
                         f"one: {what}(iface={endpoint.iface or 'eth1'!r}) or start with --iface")
    if current is not None and current.running:
        raise UsageError(f"a server is already running here: {stop} first")
    return endpoint.need_iface()



def refuse_beside(endpoint: Endpoint, who: str, name: str, *, what: str, protocol: str, error: type[UsageError],
                  force: bool) -> None:
    """Another ``protocol`` server (``who``; "" for none) answered ``what()``'s own probe on ``name``:
    ``error`` unless ``force``, and then a line in the session's messages."""
    if not who:
        return
    if not force:
        raise error(f"another {protocol} server answers on {name}: {who}; {what}() will not start beside it "
                    f"({what}(force=True) to start anyway)")
    endpoint.messages.append(f"serving {protocol} beside another server on {name}: {who}")
