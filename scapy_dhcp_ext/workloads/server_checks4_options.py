"""Server checks of the options a reply carries against what option 55 asked
(RFC 2131 4.3.1): each requested parameter once, and nothing for a code no one
has defined. (4.3.1 also lets a server send, unasked, what is set for the client
or its subnet, so options beyond those asked for are no verdict.) Registered
after :mod:`.server_checks4_more`'s, before the lease's life."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..wire import DISCOVER, FRAME_OPTIONS, OFFER, iter_options
from ..wire.messages4 import MessageOptions
from .checks import MUST, Check, broken, catalog, met
from .server_checks4_life import everything
from .server_probe4 import ServerProbe, need

CHECKS: list[Check] = []
server_check = catalog(CHECKS)

UNASSIGNED = (102, 105)   # IANA: 102-107 unassigned; no server can know a value for them


def _instances(raw: bytes) -> Counter[int]:
    sizes: Counter[int] = Counter()
    for _at, code, _payload in iter_options(raw, FRAME_OPTIONS):
        if code not in (0, 255):
            sizes[code] += 1
    return sizes


@server_check("requested-option-once", "2131 4.3.1", MUST,
              "each parameter asked for is in the reply once (a split long option, RFC 3396, aside)")
def requested_option_once(t: ServerProbe) -> Any:
    offer = everything(t)
    counts = _instances(offer.raw)
    twice = [c for c, n in counts.items() if n > 1 and len(offer.options.get(c, b"")) <= 255]
    return broken(f"option {twice[0]} is in the OFFER {counts[twice[0]]} times, {len(offer.options[twice[0]])} "
                  "bytes in all: no need to split it") if twice else met(
        f"{len(counts)} options, each once")


def _asked(t: ServerProbe, name: str, wanted: tuple[int, ...]) -> Any:
    def make() -> Any:
        return t.ask(DISCOVER, t.client(name), opts=MessageOptions(broadcast=True, param_req_list=wanted),
                     done=lambda f: f.message_type == OFFER).reply
    return need(t.once(name, make), f"OFFER to a DISCOVER asking for {list(wanted)}")


@server_check("unknown-requested-option-omitted", "2131 4.3.1", MUST,
              "a parameter no one has defined (options 102 and 105, unassigned) is left out, not made up")
def unknown_requested_option_omitted(t: ServerProbe) -> Any:
    offer = _asked(t, "unassigned", (1, 3, *UNASSIGNED))
    made_up = [c for c in UNASSIGNED if c in offer.options]
    return broken(f"option {made_up[0]} ({offer.options[made_up[0]].hex() or 'empty'}) in the OFFER") if made_up \
        else met(f"asked for {list(UNASSIGNED)} too: left out")


__all__ = ["CHECKS"]
