"""What the client did in the checks' phases, as the checks of both parts read it (pure
lookups on :class:`~.client_probe4.ClientProbe`'s record): the REQUEST that answered our
OFFER, the OFFER before it, and the REQUESTs of the lease."""

from __future__ import annotations

from typing import Callable

from ..wire import OFFER, REQUEST, ZERO_IP
from ..wire.frames4 import Frame, parse_frame
from .checks import NoEvidence
from .client_probe4 import ClientProbe, bind_phase, life_phase


def selecting_request(t: ClientProbe) -> Frame:
    bind = bind_phase(t)
    # The REQUEST our ACK answered (the last before it): in SELECTING, whatever its fields say.
    reqs = [f for f in t.timeline if bind.start <= f.time <= bind.facts["bound_at"] + 0.001
            and f.message_type == REQUEST]
    req = reqs[-1] if reqs else None
    if req is None:
        raise NoEvidence("no REQUEST in SELECTING was seen")
    return req


def offer_for(t: ClientProbe, req: Frame) -> str | None:
    """The address of the last OFFER sent before ``req`` (whatever xid the REQUEST carries)."""
    offers = [parse_frame(raw) for ts, raw in t.sent if ts <= req.time]
    offer = next((o for o in reversed(offers) if o.message_type == OFFER), None)
    return offer.yiaddr if offer else None


def lease_requests(t: ClientProbe) -> list[Frame]:
    """The client's REQUESTs with ciaddr (renewals, rebinds) between our ACK and the lease's end."""
    expired_at = life_phase(t).facts["expired_at"]
    bound_at = bind_phase(t).facts["bound_at"]
    return [f for f in t.timeline if bound_at < f.time <= expired_at
            and f.message_type == REQUEST and f.ciaddr != ZERO_IP]


def first_request(t: ClientProbe, pred: Callable[[Frame], bool]) -> tuple[Frame | None, float | None]:
    """The first REQUEST of the lease (ciaddr set) that ``pred`` likes, and its seconds after the ACK."""
    reqs = lease_requests(t)
    found = next((f for f in reqs if pred(f)), None)
    return found, (found.time - bind_phase(t).facts["bound_at"] if found is not None else None)
