"""The interactive side: the IPython shell of ``scapy-dhcp``, the extension's
load and unload, and the hook for Scapy's own startup file.

Scapy's console starts IPython through ``embed()``, which ignores IPython's
extension list, so magics never get registered there. ``scapy-dhcp`` starts
IPython with ``start_ipython`` and a config that loads this extension into a
namespace that already holds Scapy's names, the helpers and ``dhcp``.
"""

from __future__ import annotations

import sys
from typing import Any

from .._version import __version__
from ..errors import DhcpError
from ..lab import Lab
from ..session import DhcpSession
from .helpers import make_helpers, make_tools

HELPERS_LINE = ("helpers: discover() request() dora() release() inform() decline() renew() rebind()\n"
                "  sweep_lengths() sweep_malformed() load() serve() sweep_replies() check_server() check_client()\n"
                "  DHCPv6: solicit6() sarr6() request6() renew6() rebind6() release6() decline6() confirm6()\n"
                "  info_request6() sweep_lengths6() sweep_malformed6() load6()\n"
                "  serve6() sweep_replies6() check_server6() check_client6()\n"
                "  pkt_dump() pkt_edit() pkt_send(); the session is dhcp (its v6 roles: dhcp.v6)")


def banner(session: DhcpSession, lab: Lab | None = None) -> str:
    import scapy

    lines = [f"scapy-dhcp {__version__} on Scapy {scapy.VERSION}: Scapy's names, DHCP helpers, magics"]
    lines += ["  " + line for line in session.summary_lines()]
    if lab is not None:
        parts = [f"{s.kind} at {s.address}" + (" (v6: sarr6(ia_pd=True))" if s.v6 else "") for s in lab.servers]
        parts += [f"client {c.kind} ({c.mac}): srv = serve() answers it, check_client() judges it"
                  for c in lab.clients]
        lines.append(f"  lab: {', '.join(parts)} in namespace {lab.netns}, removed when you leave")
    lines.append("  " + HELPERS_LINE)
    lines.append("  magics: %dhcp_dora, %dhcp_sweep, %dhcp_check, %dhcp_session, %dhcp6_sarr, %dhcp6_sweep, %pkt_dump,"
                 " %pkt_edit, %pkt_send, ... (%lsmagic); help: dora? or %dhcp_dora?")
    lines.append("  conf.checkIPaddr = False, so your own srp()/srp1() match broadcast replies")
    return "\n".join(lines) + "\n"


def start_shell(session: DhcpSession, ns: dict[str, Any], lab: Lab | None = None) -> int:
    """Runs IPython until the user leaves; returns the exit status."""
    from IPython import start_ipython
    from traitlets.config import Config

    config = Config()
    config.InteractiveShellApp.extensions = ["scapy_dhcp_ext"]
    config.TerminalIPythonApp.display_banner = True
    config.TerminalInteractiveShell.banner1 = banner(session, lab)
    config.TerminalInteractiveShell.confirm_exit = False
    config.HistoryManager.enabled = True
    start_ipython(argv=[], user_ns=ns, config=config)
    return 0


def _one_line_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
    """scapy-dhcp's own errors print as one line; the prompt comes back."""
    print(f"{etype.__name__}: {value}", file=sys.stderr)
    return None


def load(ipython: Any) -> None:
    """What ``%load_ext scapy_dhcp_ext`` does: see the package docstring."""
    from scapy.config import conf

    from .magics import DhcpMagics
    from .magics6 import Dhcp6Magics
    from .magics_pkt import PacketMagics

    existing = ipython.user_ns.get("dhcp")
    own = not isinstance(existing, DhcpSession)
    session = DhcpSession() if own else existing
    for message in session.messages if own else []:
        print(f"scapy-dhcp: {message}", file=sys.stderr)
    tools = make_tools(session)
    magics = DhcpMagics(ipython, session=session, tools=tools)
    magics.owns_session = own
    magics.pushed = make_helpers(session, tools)
    magics.old_check_ip = conf.checkIPaddr
    conf.checkIPaddr = False
    ipython.register_magics(magics)
    ipython.register_magics(PacketMagics(ipython, tools=tools))
    ipython.register_magics(Dhcp6Magics(ipython, session=session))
    ipython.push(magics.pushed)
    ipython.set_custom_exc((DhcpError,), _one_line_error)


def unload(ipython: Any) -> None:
    """Undoes ``load``: magics, names, ``conf.checkIPaddr``, the error printer."""
    from scapy.config import conf

    manager = ipython.magics_manager
    magics = manager.registry.pop("DhcpMagics", None)
    if magics is None:
        return
    others = [manager.registry.pop(name, None) for name in ("PacketMagics", "Dhcp6Magics")]
    ours = [magics, *(m for m in others if m is not None)]
    for registered in ours:
        for kind, names in registered.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
    # IPython keeps every registered Magics in shell.configurables too: left
    # there, a later %config would still reach this instance and its session.
    ipython.configurables[:] = [c for c in ipython.configurables if not any(c is m for m in ours)]
    magics.unobserve_all()
    for name, value in magics.pushed.items():
        if ipython.user_ns.get(name) is value:
            del ipython.user_ns[name]
            ipython.user_ns_hidden.pop(name, None)
    conf.checkIPaddr = magics.old_check_ip
    ipython.set_custom_exc((), None)
    if magics.owns_session:
        magics.session.close()


def scapy_startup(ns: dict[str, Any]) -> DhcpSession:
    """For Scapy's own startup file: the helpers and ``dhcp`` in plain ``scapy``.
    Magics need the IPython that ``scapy-dhcp`` starts; plain ``scapy`` has none."""
    from scapy.config import conf

    session = DhcpSession()
    for message in session.messages:
        print(f"scapy-dhcp: {message}", file=sys.stderr)
    ns.update(make_helpers(session))
    conf.checkIPaddr = False
    print(f"scapy-dhcp {__version__}: {HELPERS_LINE}; iface {session.iface or 'none: dhcp.use(IFACE)'}")
    return session
