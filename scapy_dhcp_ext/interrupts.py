"""Ctrl-C, handled: at any point of an operation the prompt comes back with a
partial result, and a state save is never cut in the middle.

A session's operations are decorated with ``interruptible``; ``defer_sigint``
holds Ctrl-C while the state file is written, then raises it.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar, cast

from .errors import Interrupted, TransportError
from .results import Result

if TYPE_CHECKING:
    from .session import DhcpSession

F = TypeVar("F", bound=Callable[..., Any])


def interruptible(operation: str) -> Callable[[F], F]:
    """Ctrl-C anywhere in an operation (not only while waiting) gives the
    prompt back with ``Interrupted`` and a partial result in ``dhcp.last``."""
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(self: DhcpSession, *args: Any, **kwargs: Any) -> Any:
            mark, last, state = self.history.recorded, self.last, self.state
            try:
                return func(self, *args, **kwargs)
            except TransportError:
                self.state = state  # the interface failed under us: nothing changed on the server's side
                raise
            except Interrupted:
                raise
            except KeyboardInterrupt:
                if self.last is not last and isinstance(self.last, Result):
                    result = self.last  # it had completed; Ctrl-C came while saving or after
                    result.note = "Ctrl-C came after it completed; the state is saved"
                else:
                    result = self._partial(operation, mark)
                    self.last = result
                raise Interrupted(f"{operation} interrupted; the partial result is in dhcp.last",
                                  result) from None
        return cast(F, wrapper)
    return decorate


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
