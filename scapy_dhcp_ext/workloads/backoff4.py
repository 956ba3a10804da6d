"""A client's DISCOVER retransmissions judged from any point (RFC 2131 4.1).

RFC 2131 4.1: the delay before the first retransmission SHOULD be 4 s, then
8, 16, ... up to 64 s, each randomised by -1 to +1 s. A check that starts
while the device is already DISCOVERing sees the schedule midway: dhcpcd's
8 then 16 s is as right as its 4, 8, 16. So the intervals are judged against
every window of that schedule, and the wait for the next retransmission is
derived from the last interval seen (twice it, up to 64 s), never fixed.
Pure: no I/O, no clock.
"""

from __future__ import annotations

CAP = 64.0
SLACK = 1.1          # RFC 2131's +/- 1 s, plus what our timestamps (taken on receipt) may add
ENOUGH = 2           # intervals that show a doubling schedule (4 then 8, or 8 then 16 when joined late)
STEPS = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0)   # 2 s is no RFC step: a schedule that starts there is told apart


def next_within(gaps: list[float]) -> float:
    """How long after the last DISCOVER the next is due at the latest: the
    schedule's next step (twice the step the last interval was, 64 s at most)
    with its 1 s of randomisation and a margin; off the schedule, twice the
    last interval and the margin; with no interval yet, the longest the
    schedule allows."""
    if not gaps:
        return CAP + 2.5
    step = _window(gaps)
    due = min(step * 2 ** len(gaps), CAP) if step is not None else min(2 * gaps[-1], CAP)
    return due + 2.5


def enough(gaps: list[float]) -> bool:
    """Whether the intervals seen settle the verdict: enough of them, one at the cap, or one off the schedule."""
    if len(gaps) >= ENOUGH or (gaps and gaps[-1] >= CAP - SLACK):
        return True
    return len(gaps) >= 2 and _window(gaps) is None


def judge(gaps: list[float], waited: float | None = None) -> tuple[bool, str]:
    """(kept, why) for the intervals between successive DISCOVERs; ``waited``:
    how long no further retransmission came after the last (None: it was not waited for)."""
    shown = "intervals " + (", ".join(f"{g:.1f}" for g in gaps) or "none") + " s"
    if not gaps:
        return False, f"{shown}: no retransmission within {waited or next_within(gaps):.1f} s"
    start = _window(gaps)
    if start is None and len(gaps) >= 2 and max(gaps) - min(gaps) <= 2 * SLACK:
        return False, f"{shown}: a fixed interval (RFC 2131 4.1: each delay doubles, 4 s first, up to 64 s)"
    if start is None:
        want = [min(2 * g, CAP) for g in gaps[:-1]]
        at = next((i + 1 for i, (g, w) in enumerate(zip(gaps[1:], want)) if abs(g - w) > SLACK), 0)
        expected = f"{want[at - 1]:g}" if at else "4, 8, 16 or 32"
        return False, f"{shown}: expected {expected} +/- 1 s there (RFC 2131 4.1: each delay doubles)"
    if waited is not None and len(gaps) < ENOUGH and gaps[-1] < CAP - SLACK:
        return False, f"{shown}, then no retransmission within {waited:.1f} s"
    if start == 2.0:
        return False, f"{shown}: doubling, but from 2 s (RFC 2131 4.1: the first delay SHOULD be 4 s)"
    joined = "" if start == 4.0 else f" (seen from its {start:g} s step on)"
    return True, f"{shown}: RFC 2131's doubling{joined}"


def _window(gaps: list[float]) -> float | None:
    """The step of the schedule (2, 4, ... 64 s) the first interval is, if every
    later one doubles from it within +/- 1 s (64 s at most); None if none fits."""
    for step in STEPS:
        if all(abs(g - min(step * 2 ** i, CAP)) <= SLACK for i, g in enumerate(gaps)):
            return step
    return None
