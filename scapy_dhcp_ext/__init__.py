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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

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
