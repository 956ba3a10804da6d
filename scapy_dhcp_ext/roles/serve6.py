"""``serve6()``: starts the DHCPv6 server role (:class:`~.server6.Dhcp6Server`) on an
endpoint, never as a rogue server by accident: only on an interface named for this
run, and only after a SOLICIT of its own got no ADVERTISE (``force=True``
overrides; the other server is named).

    >>> srv = serve6(endpoint, "fd77::100-fd77::1ff", pd="fd77:2::/48", pd_length=56)
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable

from ..errors import UsageError
from ..link.exchange import Retransmit6
from ..state.endpoint import Endpoint
from ..wire.dhcp6 import ADVERTISE, IA_NA, IA_PD, REPLY, SOLICIT, duid_ll, ia, link_local
from ..wire.messages6 import client_id, elapsed, frame6, message6, oro, user_options
from .answer6 import Config6
from .leases6 import Pools6
from .server6 import Dhcp6Server
from .serving import may_serve, refuse_beside

DEFAULT_ADDRESSES = "fd77::100-fd77::1ff"
DEFAULT_PD = "fd77:2::/48"
DEFAULT_OPTIONS = {"dns_servers": ["fd77::53"], "domain_list": ["lab.test"]}


class RogueServer6(UsageError):
    """Another DHCPv6 server answers on the link: serve6() does not start beside it."""


def serve6(endpoint: Endpoint, addresses: str | None = None, *, current: Dhcp6Server | None = None,
           iface: str | None = None, pd: str | None = DEFAULT_PD, pd_length: int = 56,
           preferred: int = 2700, valid: int = 3600, t1: int | None = None, t2: int | None = None,
           rapid_commit: bool = False, preference: int | None = None, sol_max_rt: int | None = None,
           inf_max_rt: int | None = None, options: Any = None, reconfigure: bool = True,
           on_reply: Callable[[Any, Any], Any] | None = None, intercept: bool | str = False,
           duids: Iterable[bytes | str] | None = None, macs: Iterable[str] | None = None,
           force: bool = False, timeout: float = 1.5,
           before_start: Callable[[Dhcp6Server], Any] | None = None, restore: bool = True) -> Dhcp6Server:
    """Starts a DHCPv6 server on the endpoint's interface: IA_NA addresses from
    ``addresses`` (a range or a network; default fd77::100-fd77::1ff), IA_PD prefixes
    of ``pd_length`` from ``pd`` (None: no prefix delegation), lifetimes, T1 and T2
    (half and 0.8 of ``preferred`` unless given), rapid commit when asked for,
    ``options`` by name or code given to a client that asks in its ORO (default: a
    DNS server and a search domain). ``timeout``: how long its SOLICIT waits for
    another server's ADVERTISE; ``before_start(server)`` runs before the first message is read (a
    workload attaches its hooks there); ``restore=False`` starts with no bindings rather than the
    ones the state file kept. See :mod:`.server6` for the rest."""
    name = may_serve(endpoint, iface, current, "serve6", "srv.stop()")
    try:
        pools = Pools6.parse(addresses or DEFAULT_ADDRESSES, pd=pd, pd_length=pd_length)
        given = user_options(DEFAULT_OPTIONS if options is None else options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    preferred, valid = int(preferred), int(valid)
    if not 0 < preferred <= valid:
        raise UsageError(f"preferred {preferred} s must be above 0 and at most valid {valid} s (RFC 8415 21.6)")
    config = Config6(preferred, valid, t1, t2, rapid_commit, preference, sol_max_rt, inf_max_rt,
                     {int.from_bytes(o[:2], "big"): o[4:] for o in given}, reconfigure)
    server = Dhcp6Server(endpoint, pools, config, on_reply=on_reply, intercept=intercept, duids=duids, macs=macs)
    refuse_beside(endpoint, _other_server(endpoint, timeout), name, what="serve6", protocol="DHCPv6",
                  error=RogueServer6, force=force)
    if before_start is not None:
        before_start(server)
    return server.start(restore=restore)


def _other_server(endpoint: Endpoint, timeout: float) -> str:
    """Who ADVERTISEs to a SOLICIT of ours (a DUID of a MAC of its own), or ""."""
    probe_mac = bytes([0x02, 0x5D]) + random.getrandbits(32).to_bytes(4, "big")
    duid = duid_ll(probe_mac)
    txid = random.getrandbits(24)
    own = endpoint.mac_bytes
    endpoint.transport6.answer_nd(link_local(own), own)   # a server resolves our link-local address first

    def make(_elapsed: float) -> bytes:
        body = message6(SOLICIT, txid, [client_id(duid), elapsed(_elapsed), oro((23,)), ia(IA_NA, 1), ia(IA_PD, 2)])
        return frame6(body, mac=own)

    ex = endpoint.transport6.exchange(make, matches=lambda f: f.txid == txid and f.client_id == duid
                                      and f.msg_type in (ADVERTISE, REPLY), timeout=timeout,
                                      schedule=Retransmit6(irt=timeout * 2, mrc=1))
    return ", ".join(sorted({f"{f.server} ({f.ip_src})" for f in ex.replies}))
