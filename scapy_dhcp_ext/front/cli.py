"""The ``scapy-dhcp`` command.

    sudo scapy-dhcp --iface IF          Scapy's shell (IPython) with the DHCP helpers and magics
    sudo scapy-dhcp --lab [dnsmasq|kea] the same against a lab made for the run, removed at exit
                                        (--lab dnsmasq,kea: two servers on the link)
    sudo scapy-dhcp --lab-client KIND[:OPTIONS]  a lab with a DHCP client instead (udhcpc, dhcpcd,
                                        udhcpc:shipped, dhcpcd:shipped, embedded): serve() to it;
                                        v6: dhcpcd6, dhcp6c (and :shipped): serve6() to it
    sudo scapy-dhcp --iface IF -c CODE  run CODE with the same names, then exit

The shell and ``CODE`` see Scapy's names (as ``from scapy.all import *``), the
helpers (``discover``, ``request``, ``dora``, ``release``, ``inform``,
``decline``, ``renew``, ``rebind``, ``sweep_lengths``, ``sweep_malformed``,
``load``, ``serve``, ``serve6`` and the other v6 helpers, ``pkt_dump``, ``pkt_edit``, ``pkt_send``) and the session as
``dhcp``. With ``-c`` the exit status is non-zero when the code raised; ``CODE``
may use IPython's syntax too (``-c '%dhcp_dora --hostname probe'``).
Errors of scapy-dhcp's own are one line, never a traceback; so is running
without root.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import traceback
from typing import Any, Sequence

from .._version import __version__
from ..errors import DhcpError, NoPrivileges
from ..lab import SERVER_KINDS, Lab, LabError
from ..lab.clients import parse_spec
from ..link.rawsocket import interface_mac
from ..session import DhcpSession
from ..state.leasefile import lease_file_path
from .helpers import make_helpers

PROG = "scapy-dhcp"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="A DHCP workbench on Scapy and IPython: Scapy's shell "
                                "with DHCP helpers, magics and a session that keeps the state.",
                                epilog="Examples: sudo scapy-dhcp --lab | sudo scapy-dhcp --iface eth1 | "
                                "sudo scapy-dhcp --iface eth1 -c 'print(dora().lease)' | "
                                "sudo scapy-dhcp --lab-client udhcpc -c 'print(serve().wait_lease())'")
    p.add_argument("--iface", "-i", help="the interface to work on (remembered for next time)")
    p.add_argument("--mac", help="the client MAC (default: the interface's)")
    p.add_argument("--state", metavar="FILE",
                   help="state file (default: $XDG_STATE_HOME/scapy-dhcp/state.json)")
    p.add_argument("--lab", nargs="?", const=["dnsmasq"], type=lab_kinds, metavar="KIND[,KIND]",
                   help="start a lab with a real DHCP server (default dnsmasq) and use it; two kinds "
                   f"(--lab dnsmasq,kea) put two servers on the link. Kinds: {', '.join(SERVER_KINDS)}")
    p.add_argument("--lab-client", type=client_spec, metavar="KIND[:OPTIONS]",
                   help="start a lab with a DHCP client for serve() to answer: udhcpc or dhcpcd as the lab runs them "
                   "(fast, no ARP probing), udhcpc:shipped or dhcpcd:shipped as Debian runs them (ARP probing on, "
                   "default timers), or embedded (the project's embedded-style client; options in docs/lab.md); "
                   "for serve6(): dhcpcd6 or dhcp6c (dhcpcd -6, WIDE's dhcp6c; :shipped with DAD on)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for a reply (default 3)")
    p.add_argument("-c", dest="code", metavar="CODE", help="run CODE, then exit")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def client_spec(text: str) -> str:
    """``--lab-client``'s value: a client kind and its options (see :mod:`scapy_dhcp_ext.lab.clients`)."""
    try:
        parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def lab_kinds(text: str) -> list[str]:
    """``--lab``'s value: one server kind, or several separated by commas."""
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    wrong = [k for k in kinds if k not in SERVER_KINDS]
    if wrong or not kinds:
        raise argparse.ArgumentTypeError(f"{', '.join(wrong) or text!r} is not a lab server: "
                                         f"choose from {', '.join(SERVER_KINDS)}")
    return kinds


def check_privileges() -> None:
    import socket

    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except PermissionError:
        raise NoPrivileges() from None


def make_namespace(session: DhcpSession, lab: Lab | None = None) -> dict[str, Any]:
    """Scapy's names, ``conf.checkIPaddr = False``, the helpers and ``dhcp``."""
    import scapy.all

    ns: dict[str, Any] = {k: v for k, v in vars(scapy.all).items() if not k.startswith("_")}
    scapy.all.conf.checkIPaddr = False
    ns.update(make_helpers(session))
    if lab is not None:
        ns["lab"] = lab
    return ns


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    check_privileges()
    lab: Lab | None = None
    session: DhcpSession | None = None

    def cleanup() -> None:
        if session is not None:
            session.close()
        if lab is not None:
            lab.stop()
            if session is not None and session.store is not None:   # the lab's link goes: so do its leases
                with contextlib.suppress(OSError):   # --state /dev/null, a read-only folder: nothing to remove
                    for family in ("4", "6"):
                        lease_file_path(session.store.path, lab.iface, family).unlink(missing_ok=True)

    def on_signal(signum: int, _frame: Any) -> None:
        # SIGTERM or a closed terminal: the lab goes, whatever the shell is doing.
        cleanup()
        os._exit(128 + signum)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    from scapy.config import conf

    old_check_ip = conf.checkIPaddr
    try:
        if args.lab or args.lab_client:
            lab = Lab(args.lab or [], clients=[args.lab_client] if args.lab_client else []).start()
            session = DhcpSession(lab.iface, mac=args.mac, timeout=args.timeout,
                                  state_file=args.state or _lab_state_file())
            if lab.clients:
                session.restart_device = lab.clients[0].restart   # check_client() starts it over when it must
                session.release_device = lab.clients[0].release   # and has it give its lease back, last
                session.renew_device = lab.clients[0].renew       # and sweep_replies() makes it renew
                session.link_change_device = lab.clients[0].link_change   # and check_client6() moves it
                session.inform_device = lab.clients[0].inform     # dhcpcd: a static address, a DHCPINFORM
        else:
            if args.iface:
                interface_mac(args.iface)  # a missing interface fails here, in one line
            session = DhcpSession(args.iface, mac=args.mac, timeout=args.timeout,
                                  state_file=args.state)
            if args.iface and session.saved_iface != args.iface:
                session.save()  # remembers the interface for next time
        for message in session.messages:
            print(f"{PROG}: {message}", file=sys.stderr)
        ns = make_namespace(session, lab)
        if args.code is not None:
            return run_code(args.code, ns)
        from .shell import start_shell

        return start_shell(session, ns, lab)
    finally:
        cleanup()
        conf.checkIPaddr = old_check_ip
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _lab_state_file() -> str:
    from ..state.store import default_state_dir

    return str(default_state_dir() / "lab" / "state.json")


def ipython_code(code: str, ns: dict[str, Any]) -> str:
    """``CODE`` as Python. Lines in IPython's syntax (``%dhcp_dora``, ``!ip addr``)
    are turned into the calls IPython makes of them, on a shell made for the
    run with the magics loaded into ``ns``; plain Python is left as it is."""
    if not re.search(r"^\s*(?:[\w.,\s]+=\s*)?[%!]", code, re.M):   # "%magic", "r = %magic", "!cmd"
        return code
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from .shell import load

    config = Config()
    config.HistoryManager.enabled = False   # nothing written to the user's IPython history
    load(InteractiveShell.instance(config=config, user_ns=ns))
    return TransformerManager().transform_cell(code)


def run_code(code: str, ns: dict[str, Any]) -> int:
    try:
        exec(compile(ipython_code(code, ns), "<-c>", "exec"), ns)
    except KeyboardInterrupt as exc:  # first: Interrupted is a DhcpError too
        return _fail(f"interrupted: {exc}" if str(exc) else "interrupted", 130)
    except DhcpError as exc:
        return _fail(f"{type(exc).__name__}: {exc}", 1)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        session = ns.get("dhcp")
        if isinstance(session, DhcpSession):
            session.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:  # first: Interrupted is a DhcpError too
        return _fail("interrupted", 130)
    except (DhcpError, LabError) as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
