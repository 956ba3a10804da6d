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


def cpu_per_exchange(cpu: Callable[[], float], netns: str, rate: int, seconds: int,
                     family: str = "-4", mode: str = "single") -> tuple[float, int]:
    """Microseconds of the server's CPU (``cpu()``) per exchange perfdhcp completed at ``rate``
    from ``netns``, and how many it completed."""
    before = cpu()
    out = subprocess.run(["ip", "netns", "exec", netns, "perfdhcp", family, "-l", "eth0", "-g", mode,
                          "-r", str(rate), "-R", "2000", "-p", str(seconds)], capture_output=True, text=True).stdout
    used = cpu() - before
    received = [int(x) for x in re.findall(r"received packets: (\d+)", out)]
    done = received[-1] if received else 0
    print(f"  perfdhcp -r {rate}: {done} exchanges, {used:.2f} s of the server's CPU", file=sys.stderr)
    return (used / done * 1e6 if done else float("inf")), done
