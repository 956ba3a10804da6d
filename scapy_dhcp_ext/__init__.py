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
from .link.transport import Backoff
from .roles.results4 import Lease, Offer, Result
from .session import DhcpSession
from .wire import random_mac
from .wire.frames4 import parse_frame
from .wire.messages4 import MessageOptions

__all__ = [
    "Backoff", "DhcpError", "DhcpSession", "DhcpTimeout", "InterfaceDown", "Interrupted", "Lease",
    "MessageOptions", "NoPrivileges", "NoSuchInterface", "Offer", "Result", "StateError",
    "TransportError", "UsageError", "parse_frame", "random_mac", "__version__",
]


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
