"""scapy-dhcp: a DHCP workbench for embedded-device bring-up, on Scapy and IPython.

In a shell::

    $ sudo scapy-dhcp --lab            # Scapy's shell, DHCP helpers, a real server
    >>> dora()
    $ sudo scapy-dhcp --lab-client udhcpc   # a real client instead: be its server
    >>> srv = serve(); srv.wait_lease(); sweep_replies(restart=lab.clients[0].restart)

In IPython or Jupyter::

    In [1]: %load_ext scapy_dhcp_ext
    In [2]: %dhcp_dora --iface eth1

In a script::

    from scapy_dhcp_ext import DhcpSession
    with DhcpSession("eth1", state_file=False) as dhcp:
        print(dhcp.dora().lease)

Importing the package does not import IPython, prompt_toolkit or ``scapy.all``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    DhcpError,
    DhcpTimeout,
    InterfaceDown,
    Interrupted,
    NoPrivileges,
    NoSuchInterface,
    StateError,
    TransportError,
    UsageError,
)

# The public names of both roles and both families, each imported from its layer on first use
# (``import scapy_dhcp_ext`` stays cheap; ``from scapy_dhcp_ext import *`` brings them all).
_LAZY = {
    "DhcpSession": "session", "Dhcp6Session": "session.v6",
    "DhcpServer": "roles.server4", "serve": "roles.serve4", "RogueServer": "roles.serve4",
    "Lease": "roles.results4", "Offer": "roles.results4", "Result": "roles.results4",
    "Lease6": "roles.results6", "Advertise": "roles.results6",
    "Backoff": "link.exchange", "Retransmit6": "link.exchange",
    "MessageOptions": "wire.messages4", "Relay6": "wire.messages6",
    "parse_frame": "wire.frames4", "parse_frame6": "wire.frames6", "random_mac": "wire",
    "Report": "workloads.report", "Lab": "lab",
}

if TYPE_CHECKING:
    from .lab import Lab
    from .link.exchange import Backoff, Retransmit6
    from .roles.results4 import Lease, Offer, Result
    from .roles.results6 import Advertise, Lease6
    from .roles.serve4 import RogueServer, serve
    from .roles.server4 import DhcpServer
    from .session import DhcpSession
    from .session.v6 import Dhcp6Session
    from .wire import random_mac
    from .wire.frames4 import parse_frame
    from .wire.frames6 import parse_frame6
    from .wire.messages4 import MessageOptions
    from .wire.messages6 import Relay6
    from .workloads.report import Report

__all__ = [
    "DhcpError", "DhcpTimeout", "InterfaceDown", "Interrupted", "NoPrivileges", "NoSuchInterface", "StateError",
    "TransportError", "UsageError", "__version__",
    "DhcpSession", "Dhcp6Session", "DhcpServer", "serve", "RogueServer", "Lease", "Offer", "Result", "Lease6",
    "Advertise", "Backoff", "Retransmit6", "MessageOptions", "Relay6", "parse_frame", "parse_frame6",
    "random_mac", "Report", "Lab",
]


# Where each module of the flat layout went (0.1's names): importing an old name still works for one
# release, with a DeprecationWarning naming the new one; its attributes are the new module's.
_MOVED = {
    "packets": "wire.messages4", "frames": "wire.frames4", "replies": "wire.replies4", "pktools": "wire.pktools",
    "rawsocket": "link.rawsocket", "reader": "link.reader", "transport": "link.transport", "store": "state.store",
    "history": "state.history", "endpoint": "state.endpoint", "client": "roles.client4_rules",
    "results": "roles.results4", "interrupts": "roles.interrupts", "leases": "roles.leases4",
    "server": "roles.server4", "cases": "workloads.cases4", "reply_cases": "workloads.reply_cases4",
    "sweep": "workloads.sweep4", "sweep_report": "workloads.sweep_report", "load": "workloads.load4",
    "checks": "workloads.checks", "server_checks": "workloads.server_checks4",
    "server_probe": "workloads.server_probe4", "client_checks": "workloads.client_checks4",
    "client_probe": "workloads.client_probe4", "reply_sweep": "workloads.reply_sweep4",
    "reply_report": "workloads.reply_report", "helpers": "front.helpers", "magics": "front.magics",
    "magics6": "front.magics6", "editor": "front.editor", "cli": "front.cli",
    "pytest_plugin": "front.pytest_plugin", "labclients": "lab.clients", "v6": "", "v6.packets": "wire.messages6",
    "v6.frames": "wire.frames6", "v6.transport": "link.transport6", "v6.results": "roles.results6",
    "v6.client": "roles.client6", "v6.cases": "workloads.cases6", "v6.sweep": "workloads.sweep6",
    "v6.load": "workloads.load6",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``import scapy_dhcp_ext.frames`` (and the other names above) with a module whose
    attributes are the new module's."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        old = fullname[len(__name__) + 1:] if fullname.startswith(__name__ + ".") else None
        if old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=old == "v6")

    def create_module(self, spec: Any) -> Any:
        return None   # a plain module; exec_module points it at the new one

    def exec_module(self, module: Any) -> None:
        new = _MOVED[module.__name__[len(__name__) + 1:]]
        if not new:   # scapy_dhcp_ext.v6: a package only for the names under it
            module.__path__ = []
            return
        warnings.warn(f"{module.__name__} is {__name__}.{new} now; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        real = importlib.import_module(f"{__name__}.{new}")
        module.__getattr__ = lambda name: getattr(real, name)
        module.__dir__ = lambda: dir(real)
        module.__doc__ = real.__doc__


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext scapy_dhcp_ext``: the magics, the helpers and ``dhcp`` in the
    namespace, ``conf.checkIPaddr = False``, one-line errors. IPython is only
    imported here, so importing the package never pulls it in."""
    from .front.shell import load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext scapy_dhcp_ext``: undoes everything ``load`` did."""
    from .front.shell import unload

    unload(ipython)
