"""The ``%dhcp6_*`` magics: the DHCPv6 client (``dhcp.v6``) at the IPython prompt.

::

    In [1]: %load_ext scapy_dhcp_ext
    In [2]: %dhcp6_sarr --pd
    Out[2]: SARR BOUND xid 0x00a1b2c3 in 1.1 ms: fd77:1::100 fd77:1:2::/56 from LL 02:..., T1 1800 ...
    In [3]: %dhcp6_renew
    In [4]: %dhcp6_info
    In [5]: %dhcp6_sarr --rapid-commit --relay fd77:1::5 --interface-id eth0/1
    In [6]: %dhcp6_release
    In [7]: %dhcp6_serve --rapid-commit          # a DHCPv6 server for a board's client
    In [8]: %dhcp6_check client --json c6.json   # RFC 8415 verdicts (or: %dhcp6_check server)

Each returns its result (``r = %dhcp6_sarr``); ``--option KEY=VALUE`` adds
any option, KEY a name (``user_class``) or a code, VALUE text, a number or
``hex:0102``.
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..session import DhcpSession
from ..wire import parse_value
from ..wire.messages6 import Relay6
from .magic_words import (
    answers_help,
    evaluate,
    option_items,
    output_args,
    parse_words,
    run_sweep,
    usage_errors,
    write_outputs,
)


def _common6(func: Callable[..., Any]) -> Callable[..., Any]:
    for arg in reversed([
        argument("--iface", "-i", help="interface to use (switches the session to it)"),
        argument("--timeout", "-t", type=float, help="seconds to wait for a reply"),
        argument("--option", "-o", action="append",
                 help="any option, KEY=VALUE; KEY a name (user_class) or code; VALUE text, a number, or hex:0102"),
        argument("--relay", metavar="LINK_ADDRESS", help="relay mode: RELAY-FORW with this link-address"),
        argument("--interface-id", dest="interface_id", help="relay mode: the interface-id option (text)"),
        argument("--remote-id", dest="remote_id", help="relay mode: the remote-id option, ENTERPRISE:TEXT"),
    ]):
        func = arg(func)
    return func


def _ias(func: Callable[..., Any]) -> Callable[..., Any]:
    for arg in reversed([
        argument("--pd", action="store_true", help="ask for a delegated prefix (IA_PD) too"),
        argument("--no-na", dest="na", action="store_false", help="no IA_NA (prefix delegation only)"),
        argument("--rapid-commit", "-r", dest="rapid_commit", action="store_true",
                 help="SOLICIT with rapid commit: a server that does it answers with the REPLY"),
    ]):
        func = arg(func)
    return func


def keywords6(args: Any) -> dict[str, Any]:
    """The v6 operations' keywords from parsed magic arguments (those given)."""
    kw: dict[str, Any] = {}
    if getattr(args, "timeout", None) is not None:
        kw["timeout"] = args.timeout
    extra = option_items(getattr(args, "option", None), "user_class=lab or --option 65000=hex:01")
    if extra:
        kw["options"] = extra
    if getattr(args, "relay", None):
        remote = None
        if args.remote_id:
            enterprise, _, text = args.remote_id.partition(":")
            if not enterprise.isdigit():
                raise UsageError(f"--remote-id takes ENTERPRISE:TEXT, e.g. 4491:cm-1, not {args.remote_id!r}")
            remote = (int(enterprise), text.encode())
        kw["relay"] = Relay6(link_address=args.relay, remote_id=remote,
                             interface_id=args.interface_id.encode() if args.interface_id else None)
    elif getattr(args, "interface_id", None) or getattr(args, "remote_id", None):
        raise UsageError("--interface-id and --remote-id are relay options: add --relay LINK_ADDRESS")
    return kw


@magics_class
class Dhcp6Magics(Magics):
    """The ``%dhcp6_*`` magics over ``dhcp.v6``."""

    def __init__(self, shell: Any, session: DhcpSession) -> None:
        super().__init__(shell)
        self.session = session

    def _go(self, func: Callable[..., Any], line: str, operation: str,
            positional: Callable[[Any], tuple[Any, ...]] = lambda _args: ()) -> Any:
        args = parse_words(func, line)
        if getattr(args, "iface", None):
            self.session.use(args.iface)
        kw = keywords6(args)
        for name in ("na", "pd", "rapid_commit", "window"):
            if hasattr(args, name) and getattr(args, name) is not None:
                kw["ia_na" if name == "na" else "ia_pd" if name == "pd" else name] = getattr(args, name)
        with usage_errors():
            return getattr(self.session.v6, operation)(*positional(args), **kw)

    @magic_arguments()
    @_common6
    @_ias
    @argument("--window", "-w", type=float, help="keep collecting ADVERTISEs this long after the first")
    @line_magic
    @answers_help
    def dhcp6_solicit(self, line: str = "") -> Any:
        """Multicast a SOLICIT and collect every ADVERTISE, best preference first."""
        return self._go(self.dhcp6_solicit, line, "solicit")

    @magic_arguments()
    @_common6
    @argument("advertise", nargs="?", type=int, default=0, help="which ADVERTISE to request (0: the best)")
    @line_magic
    @answers_help
    def dhcp6_request(self, line: str = "") -> Any:
        """REQUEST what an ADVERTISE offered."""
        return self._go(self.dhcp6_request, line, "request", lambda args: (args.advertise,))

    @magic_arguments()
    @_common6
    @_ias
    @line_magic
    @answers_help
    def dhcp6_sarr(self, line: str = "") -> Any:
        """SOLICIT, ADVERTISE, REQUEST, REPLY (or SOLICIT and REPLY, --rapid-commit): get a v6 lease."""
        return self._go(self.dhcp6_sarr, line, "sarr")

    @magic_arguments()
    @_common6
    @line_magic
    @answers_help
    def dhcp6_renew(self, line: str = "") -> Any:
        """RENEW the v6 lease with the server that gave it."""
        return self._go(self.dhcp6_renew, line, "renew")

    @magic_arguments()
    @_common6
    @line_magic
    @answers_help
    def dhcp6_rebind(self, line: str = "") -> Any:
        """REBIND the v6 lease with any server."""
        return self._go(self.dhcp6_rebind, line, "rebind")

    @magic_arguments()
    @_common6
    @line_magic
    @answers_help
    def dhcp6_release(self, line: str = "") -> Any:
        """RELEASE the v6 lease and forget it."""
        return self._go(self.dhcp6_release, line, "release")

    @magic_arguments()
    @_common6
    @argument("address", nargs="?", help="the address to decline (default: every IA_NA address)")
    @line_magic
    @answers_help
    def dhcp6_decline(self, line: str = "") -> Any:
        """DECLINE the lease's addresses (in use by another host) and forget the lease."""
        return self._go(self.dhcp6_decline, line, "decline", lambda args: (args.address,))

    @magic_arguments()
    @_common6
    @line_magic
    @answers_help
    def dhcp6_confirm(self, line: str = "") -> Any:
        """CONFIRM: are the lease's addresses still on this link?"""
        return self._go(self.dhcp6_confirm, line, "confirm")

    @magic_arguments()
    @_common6
    @line_magic
    @answers_help
    def dhcp6_info(self, line: str = "") -> Any:
        """INFORMATION-REQUEST: configuration only (DNS servers, domains), no address."""
        return self._go(self.dhcp6_info, line, "info_request")

    @magic_arguments()
    @argument("--lengths", "-l", help="DHCPv6 message lengths, e.g. 0-300,1400-1452 (default: 0 to the MTU and past)")
    @argument("--malformed", "-m", nargs="?", const="", metavar="NAMES",
              help="the v6 malformed catalog instead (or only these names, with commas)")
    @argument("--probe", default="solicit", choices=["solicit", "ns", "none"], help="liveness check after each case")
    @argument("--timeout", "-t", type=float, default=1.0, help="seconds to wait for the probe's answer")
    @argument("--no-headers", dest="headers", action="store_false", help="no frames cut inside IPv6/UDP headers")
    @argument("--no-lies", dest="lies", action="store_false", help="no lying IPv6/UDP length fields")
    @argument("--resume", action="store_true", help="carry on with the last unfinished v6 sweep")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @argument("--iface", "-i", help="interface to use (switches the session to it)")
    @line_magic
    @answers_help
    def dhcp6_sweep(self, line: str = "") -> Any:
        """Sweep SOLICIT lengths (or the v6 malformed catalog), a barrier SOLICIT after each; returns the report."""
        args = parse_words(self.dhcp6_sweep, line)
        if args.iface:
            self.session.use(args.iface)
        return run_sweep(self.session.v6, args)

    @magic_arguments()
    @argument("addresses", nargs="?", help="IA_NA addresses: a range fd77::100-fd77::1ff or a network fd77::/64")
    @argument("--iface", "-i", help="the interface to serve on (named here, never a remembered one)")
    @argument("--pd", default="fd77:2::/48", help="the prefix to delegate from ('none': no IA_PD)")
    @argument("--pd-length", dest="pd_length", type=int, default=56, help="the delegated prefixes' length")
    @argument("--preferred", type=int, default=2700, help="preferred lifetime (s)")
    @argument("--valid", type=int, default=3600, help="valid lifetime (s)")
    @argument("--t1", type=int, help="T1 (default: half the preferred lifetime)")
    @argument("--t2", type=int, help="T2 (default: 0.8 of the preferred lifetime)")
    @argument("--rapid-commit", "-r", dest="rapid_commit", action="store_true",
              help="answer a SOLICIT that asks for rapid commit with the REPLY")
    @argument("--option", "-o", action="append",
              help="an option given to a client that asks for it, KEY=VALUE (dns_servers=fd77::53)")
    @argument("--macs", help="answer only these clients: MACs separated by commas")
    @argument("--force", action="store_true", help="start even if another DHCPv6 server answers")
    @argument("--stop", action="store_true", help="stop the running server")
    @line_magic
    @answers_help
    def dhcp6_serve(self, line: str = "") -> Any:
        """A DHCPv6 server on the session's interface, in the background; returns its handle
        (``.leases``, ``.log``, ``.wait_lease()``, ``.refuse()``, ``.reconfigure()``, ``.stop()``).
        With one running, no arguments show it and ``--stop`` stops it."""
        args = parse_words(self.dhcp6_serve, line)
        current = self.session.v6.server
        running = current if current is not None and current.running else None
        if args.stop:
            if running is None:
                raise UsageError("no DHCPv6 server is running")
            return running.stop()
        if running is not None and not line.strip():
            return running
        if args.iface:
            self.session.use(args.iface)
        extra = option_items(args.option, "dns_servers=fd77::53")
        with usage_errors():
            return self.session.v6.serve(args.addresses, pd=None if args.pd == "none" else args.pd,
                                         pd_length=args.pd_length, preferred=args.preferred, valid=args.valid,
                                         t1=args.t1, t2=args.t2, rapid_commit=args.rapid_commit,
                                         options=extra or None, force=args.force,
                                         macs=args.macs.split(",") if args.macs else None)

    @magic_arguments()
    @argument("role", choices=["server", "client"],
              help="server: the DHCPv6 server on the link; client: the DHCPv6 client (playing its server)")
    @argument("--only", help="check ids with commas (default: all)")
    @argument("--skip", help="check ids with commas to leave out")
    @argument("--destructive", action="store_true", help="server: also the RELEASE and DECLINE checks")
    @argument("--device", help="client: the device's MAC or DUID in hex (default: the first that SOLICITs)")
    @argument("--restart", metavar="EXPR", help="client: a callable that restarts the device (lab.clients[0].restart)")
    @argument("--release", metavar="EXPR", help="client: a callable that makes it release (lab.clients[0].release)")
    @argument("--link-change", metavar="EXPR",
              help="client: a callable that takes its link down and up (lab.clients[0].link_change)")
    @argument("--slow", action="store_true", help="client: also the check that takes minutes (SOL_MAX_RT honoured)")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @line_magic
    @answers_help
    def dhcp6_check(self, line: str = "") -> Any:
        """RFC 8415 conformance checks with verdicts and evidence: ``server`` checks the DHCPv6
        server on the link, ``client`` the DHCPv6 client. Returns the report."""
        args = parse_words(self.dhcp6_check, line)

        def ids(text: str | None) -> list[str] | None:
            return [x for x in text.split(",") if x] if text else None

        with usage_errors():
            if args.role == "server":
                report = self.session.v6.check_server(only=ids(args.only), skip=ids(args.skip),
                                                      destructive=args.destructive, progress=args.progress)
            else:
                kw = {k: evaluate(self.shell, e) for k, e in (("restart", args.restart), ("release", args.release),
                                                              ("link_change", args.link_change)) if e}
                report = self.session.v6.check_client(only=ids(args.only), skip=ids(args.skip), device=args.device,
                                                      slow=args.slow, progress=args.progress, **kw)
            write_outputs(args, report)
        return report

    @magic_arguments()
    @argument("cases", nargs="?", help="case names with commas (default: the whole catalog)")
    @argument("--skip", help="case names with commas to leave out")
    @argument("--device-mac", "--mac", dest="device_mac", help="the device's MAC (default: the first that SOLICITs)")
    @argument("--probe", default="traffic",
              help="traffic (a neighbour solicitation), or an expression giving a callable (lab.clients[0].alive)")
    @argument("--restart", metavar="EXPR", help="a callable that brings the device back (lab.clients[0].restart)")
    @argument("--resume", action="store_true", help="carry on with the last unfinished sweep_replies6")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @line_magic
    @answers_help
    def dhcp6_sweep_replies(self, line: str = "") -> Any:
        """Hostile ADVERTISEs and REPLYs to a device's DHCPv6 client, one case at a time, each with a
        verdict; returns the report (``.killer``, ``.to_pcap()``)."""
        args = parse_words(self.dhcp6_sweep_replies, line)
        probe = args.probe if args.probe == "traffic" else evaluate(self.shell, args.probe)
        kw = {"restart": evaluate(self.shell, args.restart)} if args.restart else {}
        with usage_errors():
            report = self.session.v6.sweep_replies(args.cases.split(",") if args.cases else None,
                                                   skip=args.skip.split(",") if args.skip else None,
                                                   device_mac=args.device_mac, probe=probe, resume=args.resume,
                                                   progress=args.progress, **kw)
            write_outputs(args, report)
        return report

    @magic_arguments()
    @argument("--duid", choices=["LL", "LLT", "EN", "UUID"], help="switch to a new DUID of this type")
    @argument("--enterprise", type=int, default=0, help="DUID-EN: the enterprise number")
    @argument("--identifier", default="", help="DUID-EN: the identifier (text, or hex:0102)")
    @argument("--reset", action="store_true", help="back to INIT: forget the v6 lease and ADVERTISEs")
    @line_magic
    @answers_help
    def dhcp6_session(self, line: str = "") -> Any:
        """Show the v6 client (DUID, state, lease); switch DUID, reset."""
        args = parse_words(self.dhcp6_session, line)
        v6 = self.session.v6
        with usage_errors():
            if args.duid:
                ident = parse_value(args.identifier) if args.identifier else b""
                v6.use_duid(args.duid, enterprise=args.enterprise,
                            identifier=ident if isinstance(ident, bytes) else str(ident).encode())
            if args.reset:
                v6.reset()
        return v6
