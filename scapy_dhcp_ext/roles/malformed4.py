"""The server's account of malformed requests: counts per client and kind, and
the first frame of each kind kept whole in ``srv.log``.

A device that sends garbage at line rate must not fill the log (or the
server's time): a storm of 3,000 frames from one board is a few lines, each
with the careful reader's words for the first frame of its kind, and a count.
"""

from __future__ import annotations

import re


class MalformedLog:
    """Counts by (client MAC, kind); see the module's docstring."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def first(self, mac: str, why: str) -> bool:
        """Counts one request; True when it is the first of its kind from that
        client (the caller logs it whole), False when it is only counted."""
        key = (mac, kind_of(why))
        seen = self.counts.get(key, 0)
        self.counts[key] = seen + 1
        return not seen

    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        clients = len({mac for mac, _kind in self.counts})
        return f"{self.total()} malformed requests ignored, {len(self.counts)} kinds from {clients} clients" \
            if self.counts else "no malformed request ignored"


def kind_of(why: str) -> str:
    """A reason without its numbers (an option's code kept) and beyond its first
    clause: "frame is 93 bytes (...)" and "frame is 120 bytes (...)" are one kind,
    "option 53 has length 0" and "option 12 has length 0" are two."""
    return re.sub(r"(?<!option )\d+", "N", why.split(";")[0].split(" (")[0])[:80]
