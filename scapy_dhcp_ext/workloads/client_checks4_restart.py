"""Client checks, part four (registered last): each starts the device over (``restart=``)
after everything else. A REQUEST nobody answers (RFC 2131 4.4.1: retransmitted, then back to
INIT; slow, only with ``slow=True``), and option 108, IPv6-Only Preferred (RFC 8925 3.2), to a
client that asks for it. The phases are :mod:`.client_phases4_restart`'s.
"""

from __future__ import annotations

from typing import Any

from .checks import MUST, SHOULD, Check, broken, catalog, met, not_applicable
from .client_phases4_restart import RETRIES_WINDOW, V6ONLY_WAIT, retries_phase, v6only_phase
from .client_probe4 import ClientProbe

CHECKS: list[Check] = []
client_check = catalog(CHECKS)


@client_check("request-unanswered-back-to-init", "2131 4.4.1", SHOULD,
              "its REQUEST for an OFFER, never answered, is retransmitted, and then it starts over with a DISCOVER "
              f"(watched {RETRIES_WINDOW:.0f} s: 4.1's back-off of 4, 8, 16, 32, 64 s; slow: slow=True)")
def request_unanswered_back_to_init(t: ClientProbe) -> Any:
    if not t.slow:
        return not_applicable(f"slow (about {RETRIES_WINDOW + 10:.0f} s): give slow=True")
    f = retries_phase(t).facts
    first, requests, back = f["first"], f["requests"], f["back"]
    gaps = ", ".join(f"{b.time - a.time:.1f}" for a, b in zip(requests, requests[1:])) or "none"
    told = f"{len(requests)} REQUESTs (gaps {gaps} s)"
    if back is None:
        return broken(f"{told}, and no DISCOVER within {RETRIES_WINDOW:.0f} s: it asks the silent server for ever "
                      "(4.4.1: back to INIT once its retransmissions run out)")
    if len(requests) < 2:
        return broken(f"its DISCOVER came {back.time - first.time:.1f} s after a single REQUEST: "
                      "no retransmission (4.1)")
    return met(f"{told}, then a DISCOVER {back.time - first.time:.1f} s after the first")


def _asked(t: ClientProbe) -> dict[str, Any] | None:
    f = v6only_phase(t).facts
    return f if f["asked"] else None


@client_check("v6only-wrong-length-ignored", "8925 3.2", MUST,
              "to a client that asks for option 108, an OFFER whose option 108 is 2 bytes long (not 4) is taken "
              "as if it had none: it REQUESTs it")
def v6only_wrong_length_ignored(t: ClientProbe) -> Any:
    f = _asked(t)
    if f is None:
        return not_applicable("it does not ask for option 108 (its option 55)")
    got, window = f["short_next"], f["short_window"]
    if got is None:
        return broken(f"no REQUEST within {window:.0f} s of an OFFER whose option 108 was 2 bytes long: it acted on "
                      "a malformed option (or dropped the OFFER)")
    return met(f"its REQUEST came {got.time - f['short'][0]:.1f} s after that OFFER")


@client_check("v6only-offer-not-requested", "8925 3.2", MUST,
              f"to a client that asks for option 108, an OFFER with it ({V6ONLY_WAIT} s) is not REQUESTed")
def v6only_offer_not_requested(t: ClientProbe) -> Any:
    f = _asked(t)
    if f is None:
        return not_applicable("it does not ask for option 108 (its option 55)")
    got = f["wait_next"]
    if got is not None and got.requested == f["wait"][1]:
        return broken(f"it REQUESTed {got.requested} {got.time - f['wait'][0]:.1f} s after an OFFER that said "
                      "IPv6-only preferred")
    return met(f"no REQUEST for {f['wait'][1]} within {f['wait_window']:.0f} s of the OFFER")


@client_check("v6only-wait-honoured", "8925 3.2", SHOULD,
              f"after an OFFER with option 108 ({V6ONLY_WAIT} s, V6ONLY_WAIT) it stays off DHCPv4: no DISCOVER or "
              "REQUEST in the seconds watched")
def v6only_wait_honoured(t: ClientProbe) -> Any:
    f = _asked(t)
    if f is None:
        return not_applicable("it does not ask for option 108 (its option 55)")
    got, window = f["wait_next"], f["wait_window"]
    if got is not None:
        return broken(f"its {got.type_name} came {got.time - f['wait'][0]:.1f} s after the OFFER "
                      f"(V6ONLY_WAIT {V6ONLY_WAIT} s)")
    return met(f"no DHCPv4 message in the {window:.0f} s watched (of {V6ONLY_WAIT}): a restart ended the wait")

