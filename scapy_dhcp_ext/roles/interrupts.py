"""Ctrl-C, handled in one place: at any point of an operation the prompt comes
back with a partial result, and a state save is never cut in the middle.

- ``interruptible`` wraps every client operation: whatever was under way (a
  send, a wait, the second step of a DORA), Ctrl-C becomes ``Interrupted``
  holding a partial result built from the frames recorded since it began.
- ``defer_sigint`` (:mod:`..state.signals`) holds Ctrl-C while the state file is written.
- ``stop_on_ctrl_c`` (:mod:`..state.signals`) is for loops that return what they have.

Nothing below this (the transport, the endpoint) catches ``KeyboardInterrupt``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from ..errors import Interrupted, TransportError
from .results4 import Result

F = TypeVar("F", bound=Callable[..., Any])


def interruptible(operation: str) -> Callable[[F], F]:
    """Ctrl-C anywhere in an operation gives the prompt back with
    ``Interrupted`` and a partial result in ``dhcp.last``. Operations nest
    (``dora`` runs ``discover`` and ``request``): the outer partial result holds
    the steps that completed and the one cut short.

    This is also where the state is saved: once per outermost operation,
    however it ends (returned, timed out, cut short, the interface gone), and
    only if it sent or received a frame or moved the state."""
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            top = self._depth == 0
            if top:
                self._finished.clear()
            mark, last, state, done = self.history.recorded, self.last, self.state, len(self._finished)

            def changed() -> bool:
                return top and (self.history.recorded != mark or self.state != state)

            self._depth += 1
            try:
                result = func(self, *args, **kwargs)
                if top:
                    self._save_noting(result)  # a Ctrl-C in it comes below, as "after it completed"
                return result
            except TransportError:
                self.state = state  # the interface failed under us: nothing changed on the server's side
                if changed():
                    self._save_noting(None)
                raise
            except KeyboardInterrupt as exc:
                cut = exc.result if isinstance(exc, Interrupted) and isinstance(exc.result, Result) else None
                if cut is None and self.last is not last and isinstance(self.last, Result) \
                        and self.last.operation == operation:
                    result = self.last  # it had completed; Ctrl-C came while saving or after
                    result.note = "Ctrl-C came after it completed; the state is saved"
                else:
                    steps = self._finished[done:] + ([cut] if cut is not None else [])
                    result = self._partial(operation, mark, steps)
                    self.last = result
                    if changed():
                        self._save_noting(result)
                raise Interrupted(f"{operation} interrupted; the partial result is in dhcp.last",
                                  result) from None
            except BaseException as exc:  # a timeout (a DORA's DISCOVER may have moved the state), a usage error
                if changed():
                    self._save_noting(getattr(exc, "result", None))
                raise
            finally:
                self._depth -= 1
        return cast(F, wrapper)
    return decorate
