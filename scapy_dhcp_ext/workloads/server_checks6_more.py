"""``check_server6()``, part two: what a REPLY names, the same client's address asked for again, and
(``destructive=True``, run last) a pool filled to the end, then given back."""

from __future__ import annotations

from typing import Any

from ..wire.dhcp6 import STATUS6
from .checks import MUST, SHOULD, Check, catalog, unsure
from .checks import broken as fail
from .checks import met as ok
from .checks import not_applicable as na
from .server_probe6 import MOST_CLIENTS, ServerProbe6, fill_pool

CHECKS: list[Check] = []
check = catalog(CHECKS)
NO_ADDRS_AVAIL = 2


@check("reply-names-server-and-client", "8415 18.3.10", MUST,
       "a REPLY carries the server's DUID, the client's own DUID and the REQUEST's transaction id")
def reply_names_server_and_client(t: ServerProbe6) -> Any:
    duid, reply = t.bound()
    if reply.server_id != t.server_duid:
        return fail(f"it names {reply.server_id.hex() if reply.server_id else 'no server'}, not the server's "
                    f"{(t.server_duid or b'').hex()}")
    if reply.client_id != duid:
        return fail(f"it names {(reply.client_id or b'').hex() or 'no client'}, not ours {duid.hex()}")
    return ok("the server's DUID, ours, and the transaction id of our REQUEST")


@check("same-client-same-address", "8415 13.1", SHOULD,
       "a bound client that SOLICITs again (the same DUID and IAID) is offered the address it holds")
def same_client_same_address(t: ServerProbe6) -> Any:
    duid, reply = t.bound()
    held = reply.addresses[0].address
    again = t.solicit(duid).reply
    if again is None or not again.addresses:
        return unsure("no ADVERTISE with an address to its second SOLICIT")
    offered = [a.address for a in again.addresses]
    return ok(f"{held} again") if held in offered else fail(f"it holds {held}; offered {', '.join(offered)}")


@check("pool-full-noaddrsavail", "8415 18.3.9", MUST,
       "once every address is bound, a new client's SOLICIT gets an ADVERTISE with status NoAddrsAvail "
       "(the bindings are released after)", destructive=True)
def pool_full_noaddrsavail(t: ServerProbe6) -> Any:
    filled = fill_pool(t)
    if filled.silent:
        return fail(f"no ADVERTISE to a new client's SOLICIT after {filled.bound} bound: RFC 8415 asks "
                    "for one with NoAddrsAvail")
    if filled.stuck:
        return unsure(f"{filled.bound} clients bound, then a REQUEST got no address: the pool is full, "
                      "but its ADVERTISE still offered one")
    adv = filled.last
    if not filled.full or adv is None:
        return na(f"its pool holds more than {MOST_CLIENTS} addresses: not filled")
    statuses = [s for s in [adv.status] + [i.status for i in adv.ia_na] if s is not None]
    if any(code == NO_ADDRS_AVAIL for code, _text in statuses):
        return ok(f"{filled.bound} clients bound, then an ADVERTISE with NoAddrsAvail")
    codes = [STATUS6.get(code, str(code)) for code, _text in statuses]
    return fail(f"{filled.bound} clients bound, then an ADVERTISE with no address and status "
                f"{', '.join(codes) or 'none'}")
