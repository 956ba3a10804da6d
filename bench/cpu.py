"""What a server spends on one exchange: its process's CPU time (every thread of it,
user and system) over a perfdhcp run at a fixed rate, divided by the exchanges
perfdhcp completed.

A drop-free rate says how fast a server is only while the load tool can outrun
it. On two CPUs perfdhcp cannot drive much more than 20,000 exchanges a second,
so a server that could answer twice as many as Kea reads as "as fast". CPU per
exchange at a rate both answer in full is the capacity that rate hides.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from typing import Callable

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> Callable[[], float]:
    """Seconds of CPU the process ``pid`` (all its threads) has used so far, read from /proc."""
    def read() -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK   # utime, stime (fields 14 and 15)
    return read


def own_cpu() -> float:
    """Seconds of CPU this process (every thread: a server run in-process) has used so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def perfdhcp_argv(where: list[str], rate: int, seconds: int) -> list[str]:
    """perfdhcp at ``rate`` exchanges a second for ``seconds`` (``where``: its command line up to the rate)."""
    return [*where, "-r", str(rate), "-R", "2000", "-p", str(seconds)]


class Perfdhcp:
    """What one perfdhcp run printed: the rate it achieved, what it sent and got back."""

    @classmethod
    def run(cls, where: list[str], rate: int, seconds: int) -> Perfdhcp:
        return cls(subprocess.run(perfdhcp_argv(where, rate, seconds), capture_output=True, text=True).stdout)

    def __init__(self, out: str) -> None:
        found = re.search(r"Rate: ([\d.]+)", out)
        self.achieved = float(found.group(1)) if found else 0.0
        self.sent = [int(x) for x in re.findall(r"sent packets: (\d+)", out)]
        self.received = [int(x) for x in re.findall(r"received packets: (\d+)", out)]

    @property
    def done(self) -> int:
        """Exchanges completed: the last stage's replies (REQUEST's ACKs, REQUEST's REPLYs)."""
        return self.received[-1] if self.received else 0

    @property
    def lost(self) -> float:
        """The share of exchanges begun and not completed."""
        return 1 - self.done / self.sent[0] if self.sent and self.sent[0] else 1.0


def perfdhcp_from(netns: str, family: str = "-4", mode: str | None = None) -> list[str]:
    """perfdhcp's command line from ``netns``'s eth0 (a namespace of a lab, with an address)."""
    return ["ip", "netns", "exec", netns, "perfdhcp", family, "-l", "eth0", *(["-g", mode] if mode else [])]


def cpu_per_exchange(cpu: Callable[[], float], netns: str, rate: int, seconds: int,
                     family: str = "-4", mode: str = "single") -> tuple[float, int]:
    """Microseconds of the server's CPU (``cpu()``) per exchange perfdhcp completed at ``rate``
    from ``netns``, and how many it completed."""
    before = cpu()
    done = Perfdhcp.run(perfdhcp_from(netns, family, mode), rate, seconds).done
    used = cpu() - before
    print(f"  perfdhcp -r {rate}: {done} exchanges, {used:.2f} s of the server's CPU", file=sys.stderr)
    return (used / done * 1e6 if done else float("inf")), done
