"""Ctrl-C around state and loops: a save is never cut in the middle, and a
loop that can return what it has (a sweep, a load) does so.

- ``defer_sigint`` holds Ctrl-C while the state file is written, then raises it.
- ``stop_on_ctrl_c`` is for loops that return what they have: Ctrl-C ends the
  loop, and the caller marks its report interrupted.

An operation's own Ctrl-C handling (a partial result in ``dhcp.last``) is
:func:`scapy_dhcp_ext.roles.interrupts.interruptible`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator


@contextlib.contextmanager
def defer_sigint() -> Iterator[None]:
    """Holds Ctrl-C until the block is done (a state save), then raises it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught:
            raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_ctrl_c(stopped: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C ends the block and calls ``stopped``; the caller returns a partial report."""
    try:
        yield
    except KeyboardInterrupt:
        stopped()
