"""IPython magics over the session: a thin adapter, one session call per magic.

::

    In [1]: %load_ext scapy_dhcp_ext
    In [2]: %dhcp_session --iface eth1
    In [3]: %dhcp_dora --hostname probe
    Out[3]: DORA BOUND xid 0x5eb73539 in 1.2 ms: 10.77.0.120 from 10.77.0.1, lease 3600 s
    In [4]: %dhcp_release
    In [5]: %config DhcpMagics.timeout = 10
    In [6]: %dhcp_discover

The packet magics (``%pkt_dump``, ``%pkt_edit``, ``%pkt_send``) are in
:mod:`.magics_pkt`, the v6 ones in :mod:`.magics6`, the words they share in
:mod:`.magic_words`.

Every magic returns its result object (so ``r = %dhcp_dora`` works) and takes
``--iface``; the option flags map to the helpers' keywords. A mistake in the
words raises ``UsageError`` with what to type.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Unicode

from ..session import DhcpSession
from .helpers import PacketTools
from .magic_words import (
    answers_help,
    common_args,
    evaluate,
    message_options,
    output_args,
    parse_words,
    run_sweep,
    usage_errors,
    write_outputs,
)


@magics_class
class DhcpMagics(Magics):
    """The ``%dhcp_*`` magics. Settings are traitlets: ``%config DhcpMagics``."""

    timeout = Float(3.0, help="Seconds to wait for a reply.").tag(config=True)
    verbose = Bool(False, help="Print every frame of each exchange.").tag(config=True)
    default_iface = Unicode("", help="Interface for a session that has none yet.").tag(config=True)

    def __init__(self, shell: Any, session: DhcpSession, tools: PacketTools | None = None) -> None:
        super().__init__(shell)
        self.session = session
        self.tools = tools or PacketTools(session)
        # What load() did, for unload() to undo.
        self.owns_session = False
        self.pushed: dict[str, Any] = {}
        self.old_check_ip: Any = None
        if "timeout" not in self.config.get("DhcpMagics", {}):
            self.timeout = session.timeout  # the session's (scapy-dhcp --timeout), unless %config says
        self.observe(self._sync, names=["timeout", "default_iface"])
        self._sync()

    def _sync(self, _change: Any = None) -> None:
        self.session.timeout = self.timeout
        if self.default_iface and not self.session.iface:
            self.session.use(self.default_iface)

    def _run(self, args: Any, operation: str, *pos: Any, **extra: Any) -> Any:
        if getattr(args, "iface", None):
            self.session.use(args.iface)
        kw = {**message_options(args), **{k: v for k, v in extra.items() if v is not None}}
        with usage_errors():
            result = getattr(self.session, operation)(*pos, **kw)
        if self.verbose:
            print(repr(result))
        return result

    @magic_arguments()
    @common_args
    @argument("--window", "-w", type=float, help="keep collecting offers this long after the first")
    @line_magic
    @answers_help
    def dhcp_discover(self, line: str = "") -> Any:
        """Broadcast a DISCOVER and collect every OFFER (all servers on the link)."""
        args = parse_words(self.dhcp_discover, line)
        return self._run(args, "discover", window=args.window)

    @magic_arguments()
    @common_args
    @argument("address", nargs="?", help="address to request; without an offer in hand, an INIT-REBOOT")
    @argument("--offer", type=int, help="which offer to request (0 is the first)")
    @argument("--server-id", dest="server_id", help="option 54, the server chosen")
    @line_magic
    @answers_help
    def dhcp_request(self, line: str = "") -> Any:
        """REQUEST an offer (SELECTING), or an address (INIT-REBOOT)."""
        args = parse_words(self.dhcp_request, line)
        return self._run(args, "request", args.address, offer=args.offer, server_id=args.server_id)

    @magic_arguments()
    @common_args
    @line_magic
    @answers_help
    def dhcp_dora(self, line: str = "") -> Any:
        """DISCOVER, OFFER, REQUEST, ACK: get a lease."""
        return self._run(parse_words(self.dhcp_dora, line), "dora")

    @magic_arguments()
    @common_args
    @argument("address", nargs="?", help="address to release (default: the lease's)")
    @argument("--server-id", dest="server_id", help="option 54 (default: the lease's server)")
    @line_magic
    @answers_help
    def dhcp_release(self, line: str = "") -> Any:
        """RELEASE the lease (unicast to its server) and forget it."""
        args = parse_words(self.dhcp_release, line)
        return self._run(args, "release", args.address, server_id=args.server_id)

    @magic_arguments()
    @common_args
    @argument("address", nargs="?", help="the client's address, ciaddr (default: the lease's)")
    @line_magic
    @answers_help
    def dhcp_inform(self, line: str = "") -> Any:
        """INFORM: ask for configuration only; the ACK has options and no lease."""
        args = parse_words(self.dhcp_inform, line)
        return self._run(args, "inform", args.address)

    @magic_arguments()
    @common_args
    @argument("address", nargs="?", help="address to decline (default: the lease's)")
    @argument("--server-id", dest="server_id", help="option 54 (default: the lease's server)")
    @argument("--message", "-m", help="option 56, why")
    @line_magic
    @answers_help
    def dhcp_decline(self, line: str = "") -> Any:
        """DECLINE an address (it is in use by someone else) and go back to INIT."""
        args = parse_words(self.dhcp_decline, line)
        return self._run(args, "decline", args.address, server_id=args.server_id, message=args.message)

    @magic_arguments()
    @common_args
    @line_magic
    @answers_help
    def dhcp_renew(self, line: str = "") -> Any:
        """RENEW the lease: a REQUEST unicast to the server that gave it."""
        return self._run(parse_words(self.dhcp_renew, line), "renew")

    @magic_arguments()
    @common_args
    @line_magic
    @answers_help
    def dhcp_rebind(self, line: str = "") -> Any:
        """REBIND the lease: a REQUEST broadcast to any server."""
        return self._run(parse_words(self.dhcp_rebind, line), "rebind")

    @magic_arguments()
    @argument("--iface", "-i", help="switch to this interface (its MAC, unless --mac)")
    @argument("--mac", help="use this client MAC")
    @argument("--new-mac", dest="new_mac", action="store_true", help="use a fresh random local MAC")
    @argument("--reset", action="store_true", help="back to INIT: forget lease, offers, transaction")
    @argument("--save", action="store_true", help="save the state file now")
    @argument("--history", type=int, metavar="N", help="also show the last N frames")
    @line_magic
    @answers_help
    def dhcp_session(self, line: str = "") -> Any:
        """Show the session; change interface or MAC, reset, save."""
        args = parse_words(self.dhcp_session, line)
        s = self.session
        with usage_errors():
            if args.iface:
                s.use(args.iface, mac=args.mac)
            elif args.mac:
                s.mac = args.mac
            if args.new_mac:
                s.new_mac()
            if args.reset:
                s.reset()
            if args.save:
                print(f"saved to {s.save()}")
        if args.history:
            for entry in list(s.history)[-args.history:]:
                print(entry)
        return s


    @magic_arguments()
    @argument("--lengths", "-l", help="BOOTP payload lengths, e.g. 0-300,1400-1472 (default: 0 to the MTU and past)")
    @argument("--malformed", "-m", nargs="?", const="", metavar="NAMES",
              help="the malformed-field catalog instead (or only these names, with commas)")
    @argument("--base", help="the packet to sweep (an expression; default: a DISCOVER of the session)")
    @argument("--probe", default="discover", choices=["discover", "arp", "icmp", "none"],
              help="liveness check after each case")
    @argument("--timeout", "-t", type=float, default=1.0, help="seconds to wait for the probe's answer")
    @argument("--no-headers", dest="headers", action="store_false", help="no frames cut inside IP/UDP headers")
    @argument("--no-lies", dest="lies", action="store_false", help="no lying IP/UDP length fields")
    @argument("--wait-dead", dest="wait_dead", type=float, metavar="S",
              help="when the device dies, wait up to S seconds for it instead of stopping")
    @argument("--resume", action="store_true", help="carry on with the last unfinished sweep")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @argument("--iface", "-i", help="interface to use (switches the session to it)")
    @line_magic
    @answers_help
    def dhcp_sweep(self, line: str = "") -> Any:
        """Sweep lengths (or malformed fields) with a liveness probe after each case; returns the report."""
        args = parse_words(self.dhcp_sweep, line)
        if args.iface:
            self.session.use(args.iface)
        base = self._eval(args.base) if args.malformed is None else None
        return run_sweep(self.session, args, base=base, on_dead="wait" if args.wait_dead else "stop",
                         wait_dead=args.wait_dead or 30.0)

    @magic_arguments()
    @argument("--clients", "-c", type=int, default=1000, help="distinct client MACs")
    @argument("--duration", "-d", type=float, default=5.0, help="seconds to run")
    @argument("--rate", "-r", type=float, help="start this many DORAs per second (default: closed loop)")
    @argument("--in-flight", "--window", "-w", dest="in_flight", type=int, default=16,
              help="exchanges in flight at most")
    @argument("--release", action="store_true", help="RELEASE each lease after its ACK")
    @argument("--timeout", "-t", type=float, default=1.0, help="seconds one leg may take before it is lost")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress display")
    @argument("--iface", "-i", help="interface to use (switches the session to it)")
    @line_magic
    @answers_help
    def dhcp_load(self, line: str = "") -> Any:
        """Many clients doing DORA at once, like perfdhcp; returns rate, drops and latencies."""
        args = parse_words(self.dhcp_load, line)
        if args.iface:
            self.session.use(args.iface)
        with usage_errors():
            return self.session.load(clients=args.clients, duration=args.duration, rate=args.rate,
                                     in_flight=args.in_flight, release=args.release, timeout=args.timeout,
                                     progress=args.progress)

    @magic_arguments()
    @argument("cases", nargs="?", help="case names with commas (default: the whole catalog)")
    @argument("--skip", help="case names with commas to leave out")
    @argument("--device-mac", "--mac", dest="device_mac",
              help="the device's MAC (default: the first client that sends a DISCOVER)")
    @argument("--probe", default="traffic",
              help="traffic, arp, icmp, or an expression giving a callable (e.g. lab.clients[0].alive)")
    @argument("--restart", metavar="EXPR", help="a callable that brings the device back (lab.clients[0].restart)")
    @argument("--renew", metavar="EXPR", help="a callable that makes it renew now (lab.clients[0].renew)")
    @argument("--retry", type=float, help="its retry interval in seconds (default: measured)")
    @argument("--resume", action="store_true", help="carry on with the last unfinished sweep_replies")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @line_magic
    @answers_help
    def dhcp_sweep_replies(self, line: str = "") -> Any:
        """Hostile replies to a device's DHCP client, one case at a time, each with a verdict; returns the report."""
        args = parse_words(self.dhcp_sweep_replies, line)
        probe = args.probe if args.probe in ("traffic", "arp", "icmp") else self._eval(args.probe)
        with usage_errors():
            restart = self._eval(args.restart) or self.session.restart_device   # the lab client's, in its shell
            report = self.session.sweep_replies(args.cases.split(",") if args.cases else None,
                                                skip=args.skip.split(",") if args.skip else None,
                                                device_mac=args.device_mac,
                                                probe=probe, restart=restart,
                                                renew=self._eval(args.renew) or self.session.renew_device,
                                                retry=args.retry,
                                                resume=args.resume, progress=args.progress)
            write_outputs(args, report)
        return report

    @magic_arguments()
    @argument("role", choices=["server", "client"], help="server: the DHCP server on the link; client: the DHCP client")
    @argument("--only", help="check ids with commas (default: all)")
    @argument("--skip", help="check ids with commas to leave out")
    @argument("--destructive", action="store_true", help="server: also RELEASE, DECLINE and forged RELEASE checks")
    @argument("--device-mac", "--mac", dest="device_mac",
              help="client: the device's MAC (default: the first that sends a DISCOVER)")
    @argument("--restart", metavar="EXPR", help="client: a callable that restarts the device (lab.clients[0].restart)")
    @argument("--release", metavar="EXPR", help="client: a callable that makes it release (lab.clients[0].release)")
    @argument("--lease-time", dest="lease_time", type=int, default=30, help="client: the lease it lives through (s)")
    @argument("--inform", metavar="EXPR", help="client: a callable that makes it send a DHCPINFORM")
    @argument("--slow", action="store_true", help="client: also the check that takes minutes (a REQUEST unanswered)")
    @argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    @output_args
    @line_magic
    @answers_help
    def dhcp_check(self, line: str = "") -> Any:
        """RFC conformance checks with verdicts and evidence: ``server`` checks the
        DHCP server on the link, ``client`` the DHCP client (playing its server).
        Returns the report (``.failed``, ``.to_junit()``, ``.to_pcap()``)."""
        args = parse_words(self.dhcp_check, line)

        def ids(text: str | None) -> list[str] | None:
            return [x for x in text.split(",") if x] if text else None

        with usage_errors():
            if args.role == "server":
                report = self.session.check_server(only=ids(args.only), skip=ids(args.skip),
                                                   destructive=args.destructive, progress=args.progress)
            else:
                report = self.session.check_client(only=ids(args.only), skip=ids(args.skip),
                                                   device_mac=args.device_mac,
                                                   restart=self._eval(args.restart) or self.session.restart_device,
                                                   release=self._eval(args.release) or self.session.release_device,
                                                   inform=self._eval(args.inform) or self.session.inform_device,
                                                   lease_time=args.lease_time, slow=args.slow,
                                                   progress=args.progress)
            write_outputs(args, report)
        return report

    @magic_arguments()
    @argument("pool", nargs="?", help="a range 10.0.0.100-10.0.0.199 or a network 10.0.0.0/24 "
              "(default: the interface's network, else 10.77.0.0/24)")
    @argument("--iface", "-i", help="the interface to serve on (named here, never a remembered one)")
    @argument("--lease-time", dest="lease_time", type=int, default=3600, help="lease time in seconds")
    @argument("--t1", type=int, help="renewal time (default: half the lease)")
    @argument("--t2", type=int, help="rebinding time (default: 7/8 of the lease)")
    @argument("--server-ip", dest="server_ip", help="the server's address (option 54)")
    @argument("--macs", help="answer only these clients: MACs separated by commas")
    @argument("--option", "-o", action="append",
              help="an option in every reply, KEY=VALUE; KEY a name or number; VALUE text, a number, or hex:0102")
    @argument("--intercept", nargs="?", const=True, default=False, metavar="KIND",
              help="hold each reply (or only ACK, or OFFER) for %%pkt_edit / %%pkt_send")
    @argument("--force", action="store_true", help="start even if another DHCP server answers")
    @argument("--stop", action="store_true", help="stop the running server")
    @line_magic
    @answers_help
    def dhcp_serve(self, line: str = "") -> Any:
        """A DHCP server on the session's interface, in the background; returns
        its handle (``.leases``, ``.log``, ``.wait_lease()``, ``.stop()``). With
        a server running, no arguments show it and ``--stop`` stops it."""
        args = parse_words(self.dhcp_serve, line)
        running = self.session.server if self.session.server is not None and self.session.server.running else None
        if args.stop:
            if running is None:
                raise UsageError("no server is running")
            return running.stop()
        if running is not None and not line.strip():
            return running
        if args.iface:
            self.session.use(args.iface)
        with usage_errors():
            return self.session.serve(args.pool, lease_time=args.lease_time, t1=args.t1, t2=args.t2,
                                      server_ip=args.server_ip, options=message_options(args).get("options"),
                                      macs=args.macs.split(",") if args.macs else None,
                                      intercept=args.intercept, force=args.force)

    def _eval(self, expr: str | None) -> Any:
        return evaluate(self.shell, expr)
