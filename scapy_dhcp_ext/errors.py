"""The project's typed errors. Each message is one line that says what to do."""

from __future__ import annotations

import warnings
from typing import Any, Callable


class DhcpError(Exception):
    """Base of every error scapy-dhcp raises on purpose."""


class TransportError(DhcpError):
    """The socket or the interface failed."""


class NoPrivileges(TransportError):
    def __init__(self) -> None:
        super().__init__("raw sockets need root: run with sudo (sudo scapy-dhcp ...)")


class NoSuchInterface(TransportError):
    def __init__(self, iface: str) -> None:
        self.iface = iface
        super().__init__(f"no interface {iface!r}: list them with `ip link` and pass --iface NAME")


class InterfaceDown(TransportError):
    def __init__(self, iface: str) -> None:
        self.iface = iface
        super().__init__(f"interface {iface} is down: bring it up with `ip link set {iface} up`")


class DhcpTimeout(DhcpError):
    """No reply in time. ``result`` holds what was sent."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class Interrupted(DhcpError, KeyboardInterrupt):
    """Ctrl-C during an exchange. ``result`` holds the partial result."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class UsageError(DhcpError, ValueError):
    """A call that cannot work as given (no offer to request, say)."""


class StateError(DhcpError):
    """A state file could not be read or written."""


def renamed(new: str, old: str, *, where: str = "") -> Callable[..., Any]:
    """A method kept under its old name for one release: it warns
    (``DeprecationWarning``, naming the new one) and calls the new one."""
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{where}{old}() is {where}{new}() now; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)(*args, **kwargs)
    method.__name__ = method.__qualname__ = old
    method.__doc__ = f"The old name of {new}(): it warns, then calls it."
    return method


def old_keyword(function: str, old: str, new: str, given: Any, current: Any) -> Any:
    """A keyword kept under its old name for one release: when ``given`` (the old
    keyword's value) is not None it warns, naming the new one, and wins."""
    if given is None:
        return current
    warnings.warn(f"{function}({old}=) is {function}({new}=) now; the old name goes in the next release",
                  DeprecationWarning, stacklevel=3)
    return given
