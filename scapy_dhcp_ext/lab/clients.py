"""Real DHCP clients in the lab: the devices that the server role will test.

Usage::

    with Lab("dnsmasq", clients=["udhcpc"]) as lab:
        client = lab.clients[0]
        bound = client.wait_event("bound")        # what the client itself reported
        print(bound["ip"], bound["lease"], bound["serverid"])

Each client runs in a namespace of its own on the lab's link, with a hook
script of ours in place of its own: every event it reports (``bound``,
``renew``, ``nak``, ``deconfig``, ...) becomes one line in ``events``, each
value hex-encoded, so that a hostile server's bytes (newlines, shell
metacharacters) arrive as they were sent. The script also configures the
address, as the client's own script would, so that renewals go out unicast.

A client is named ``KIND`` or ``KIND:OPTIONS`` (``udhcpc:shipped``,
``embedded:crash-on=option-overrun,no-arp-probe``):

- ``udhcpc`` (BusyBox): ``-T 1``, one second between tries, no ARP check (the
  lab's fast mode); ``udhcpc:shipped`` as Debian runs it: ``-a`` (it ARP-checks
  the address it is given) and its default timing (3 tries 3 s apart, then
  20 s). Its events are udhcpc's own words.
- ``dhcpcd``: IPv4 only, no ARP probe (``-A``: a probe costs seconds), no IPv4LL,
  its run and database folders private to the lab (a tmpfs in the client's
  mount namespace, the lease folder bound to the lab's so that ``lease_file()``
  reads it). ``dhcpcd:shipped`` probes with ARP, as it does by default. Its
  reasons (BOUND, RENEW, NAK, ...) are given in lower case, and its ``new_*``
  values under udhcpc's names (ip, lease, serverid, ...).
- ``embedded``: the project's embedded-style client (:mod:`.embedded_client`,
  standard library only): ARP probing on, back-off 2, 4, 8, 16, 32, 60 s with
  one xid, renewals with its DORA's xid. Its options are the program's, less
  the dashes: ``no-arp-probe``, ``schedule=2/4/8``, ``unicast-only``,
  ``decline-no-server-id``, ``new-xid-on-renew``, ``crash-on=KIND/KIND``. It
  logs what it did and why (``probe``, ``announce``, ``ignored``, ``dropped``,
  ``crash``, ...) beside the usual ``bound``, ``nak``, ``renew``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..wire import Bootp, ip_str, read_options
from .clients6 import FIELDS6, V6_CLIENT_KINDS, dhcp6c_events, v6_command
from .common import LabError, require, terminate

HOLD_WAIT = 15.0   # seconds inform() waits for the client to have held an address
CLIENT_KINDS = ("udhcpc", "dhcpcd", "embedded", *V6_CLIENT_KINDS)
EMBEDDED_OPTIONS = ("no-arp-probe", "schedule", "unicast-only", "decline-no-server-id", "new-xid-on-renew", "crash-on")
FIELDS = ("ip", "mask", "subnet", "router", "dns", "domain", "lease", "serverid", "message", "hostname")


def emit_lines(fields: tuple[str, ...]) -> str:
    """The hook's one job: a line per event, every value hex-encoded, in one write
    (a reader never sees half a line). $event and the ``fields`` variables are set before."""
    return f"""line=$(printf 'event=%s\\tt=%s' "$event" "$(date +%s.%N)")
for v in {' '.join(fields)}; do
  eval "x=\\${{$v-}}"
  line="$line$(printf '\\t%s=%s' "$v" "$(printf '%s' "$x" | od -An -tx1 | tr -d ' \\n')")"
done
printf '%s\\n' "$line" >> "@EVENTS@"
"""


_EMIT = emit_lines(FIELDS)

# udhcpc runs it as SCRIPT EVENT with the lease in the environment.
UDHCPC_SCRIPT = f"""#!/bin/sh
event="$1"
{_EMIT}case "$event" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${{mask:-24}}" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
esac
exit 0
"""

# What a distribution's dhcpcd.conf asks for, less what would slow a lab down (ARP, IPv4LL: flags).
DHCPCD_CONF = """option domain_name_servers, domain_name, domain_search, host_name
option classless_static_routes, interface_mtu
require dhcp_server_identifier
"""

# dhcpcd runs it with $reason and new_* variables; dhcpcd configures the address itself.
DHCPCD_SCRIPT = f"""#!/bin/sh
event=$(printf '%s' "${{reason-}}" | tr 'A-Z' 'a-z')
ip="${{new_ip_address-}}"; subnet="${{new_subnet_mask-}}"; router="${{new_routers-}}"
dns="${{new_domain_name_servers-}}"; domain="${{new_domain_name-}}"; lease="${{new_dhcp_lease_time-}}"
serverid="${{new_dhcp_server_identifier-}}"; message="${{new_dhcp_message-}}"; hostname="${{new_host_name-}}"
mask="${{new_subnet_cidr-}}"
{_EMIT}exit 0
"""


def parse_spec(spec: str) -> tuple[str, list[str]]:
    """``KIND[:OPTION,OPTION=VALUE]`` as (kind, options); ValueError names what is wrong."""
    kind, _, rest = spec.partition(":")
    options = [o for o in rest.split(",") if o]
    if kind not in CLIENT_KINDS:
        raise ValueError(f"unknown client {kind!r}: choose from {', '.join(CLIENT_KINDS)}")
    known = EMBEDDED_OPTIONS if kind == "embedded" else ("shipped",)
    for option in options:
        if option.partition("=")[0] not in known:
            raise ValueError(f"unknown option {option!r} for the {kind} client: choose from {', '.join(known)}")
    return kind, options


def client_command(spec: str, workdir: Path, mac: str = "") -> list[str]:
    """The command line that runs this client (``KIND[:OPTIONS]``) on ``eth0`` of its namespace."""
    kind, options = parse_spec(spec)
    events = workdir / "events"
    if kind == "embedded":
        program = Path(__file__).with_name("embedded_client.py")
        flags = ["--" + o.partition("=")[0] + ("=" + o.partition("=")[2].replace("/", ",") if "=" in o else "")
                 for o in options]
        return [sys.executable, "-I", str(program), "eth0", mac, str(events), *flags]
    if kind == "udhcpc":
        script = workdir / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT.replace("@EVENTS@", str(events)))
        script.chmod(0o755)
        timing = ["-a"] if "shipped" in options else ["-T", "1", "-t", "1000000", "-A", "1"]
        return [require("busybox", "busybox"), "udhcpc", "-i", "eth0", "-f", "-s", str(script), *timing]
    if kind in V6_CLIENT_KINDS:
        return v6_command(kind, options, workdir, emit_lines(FIELDS6).replace("@EVENTS@", str(events)))
    if kind == "dhcpcd":
        script = workdir / "dhcpcd.sh"
        script.write_text(DHCPCD_SCRIPT.replace("@EVENTS@", str(events)))  # dhcpcd clears the environment
        script.chmod(0o755)
        dhcpcd = require("dhcpcd", "dhcpcd-base")
        config = workdir / "dhcpcd.conf"
        # The lab mode asks for option 108 too, as IPv6-capable hosts do (RFC 8925); Debian's dhcpcd.conf does not.
        config.write_text(DHCPCD_CONF + ("" if "shipped" in options else "option ipv6_only_preferred\n"))
        # Its run and lease folders are its own, in this mount namespace only; the
        # lease folder is the lab's, so that its lease file can be read from outside.
        db = workdir / "db"
        db.mkdir(exist_ok=True)
        no_arp = "" if "shipped" in options else "-A "
        setup = ("mkdir -p /run/dhcpcd /var/lib/dhcpcd && mount -t tmpfs tmpfs /run/dhcpcd && "
                 f"mount --bind {db} /var/lib/dhcpcd; "
                 f'exec {dhcpcd} -B -4 {no_arp}-L -t 0 -f {config} '
                 f'-c {script} eth0')
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup]
    raise AssertionError(kind)


@dataclass
class Client:
    """One DHCP client process in its own namespace; ``events()`` is what it reported."""

    kind: str
    netns: str
    mac: str
    workdir: Path
    argv: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    spec: str = ""    # as asked for: "udhcpc:shipped", "embedded:crash-on=option-overrun"
    static: str = ""  # an address inform() set by hand (ADDRESS/MASK), which restart() takes away

    @property
    def log(self) -> str:
        path = self.workdir / "client.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self) -> list[dict[str, str]]:
        """Every event the client reported, oldest first: ``event``, ``t`` and
        the lease's values (``ip``, ``lease``, ``serverid``, ...), decoded."""
        if self.kind == "dhcp6c":
            return dhcp6c_events(self.log)   # it runs no script for a lease: its own log says what it took
        out = []
        path = self.workdir / "events"
        text = path.read_text() if path.exists() else ""
        for line in text[:text.rfind("\n") + 1].splitlines():  # whole lines only
            entry: dict[str, str] = {}
            for item in line.split("\t"):
                key, _, value = item.partition("=")
                if key in ("event", "t"):
                    entry[key] = value
                else:
                    try:
                        entry[key] = bytes.fromhex(value).decode("utf-8", "backslashreplace")
                    except ValueError:
                        entry[key] = value
            out.append(entry)
        return out

    def wait_event(self, *names: str, timeout: float = 30.0, after: int = 0) -> dict[str, str]:
        """The first event named so (any of ``names``) from index ``after`` on,
        waiting for it up to ``timeout`` seconds."""

        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events()[after:] if e.get("event") in names]
            if found:
                return found[0]
            if not self.alive():
                raise LabError(f"{self.kind} exited before it reported {' or '.join(names)}: {self.log[-500:]}")
            if time.monotonic() > deadline:
                seen = [e.get("event") for e in self.events()]
                raise LabError(f"{self.kind} reported no {' or '.join(names)} within {timeout} s (it reported {seen})")
            time.sleep(0.05)

    def lease_file(self) -> dict[str, str] | None:
        """The lease as the client keeps it on disk (dhcpcd's ``eth0.lease``, the
        last DHCP message it accepted): ``ip``, ``serverid``, ``lease``; None
        when there is none (udhcpc keeps no lease file)."""
        path = self.workdir / "db" / "eth0.lease"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) < Bootp.OPTIONS:
            return None
        opts = read_options(data)
        sid, lease = opts.joined(54), opts.joined(51)
        return {"ip": ip_str(data[Bootp.YIADDR:Bootp.YIADDR + 4]),
                "serverid": ip_str(sid[:4]) if sid and len(sid) >= 4 else "",
                "lease": str(int.from_bytes(lease[:4], "big")) if lease and len(lease) >= 4 else ""}

    def start(self, argv: list[str] | None = None) -> None:
        out = (self.workdir / "client.log").open("ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, *(argv or self.argv)], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()

    @property
    def inform(self) -> Callable[[], None] | None:
        """``check_client(inform=)``'s lever: dhcpcd's (``--inform``); None for a client with no
        such mode (BusyBox udhcpc)."""
        return self._inform if self.kind == "dhcpcd" else None

    def _inform(self) -> None:
        """Stops the client, configures the address it last held (waiting, up to ``HOLD_WAIT``
        seconds, for a client just restarted to be given one) on its interface by hand, and
        starts dhcpcd with ``--inform``: a board given a static address, which asks the server
        for the rest with a DHCPINFORM (RFC 2131 3.4). ``restart()`` starts it as it was."""
        deadline = time.monotonic() + HOLD_WAIT   # a client just (re)started is given one first
        while not (held := [e for e in self.events() if e.get("ip")]):
            if time.monotonic() > deadline or not self.alive():
                raise LabError(f"dhcpcd has held no address to configure by hand (none in {HOLD_WAIT:g} s)")
            time.sleep(0.05)
        self.stop()
        self.static = f"{held[-1]['ip']}/{held[-1].get('mask') or 24}"
        subprocess.run(["ip", "-n", self.netns, "addr", "replace", self.static, "dev", "eth0"], check=True,
                       capture_output=True)
        head, _, tail = self.argv[-1].rpartition(" eth0")
        self.start([*self.argv[:-1], f"{head} --inform eth0{tail}"])

    def stop(self) -> None:
        terminate(self.proc)

    def renew(self) -> None:
        """Asks the client to renew now (SIGUSR1, for udhcpc and dhcpcd alike):
        udhcpc renews at half its lease and stretches short leases (to 122 s in
        BusyBox 1.35), so a test that waits for T1 waits long."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)

    def release(self) -> None:
        """Asks the client to give its lease back: a RELEASE to the server (SIGUSR2 for
        udhcpc and the embedded client; SIGALRM for dhcpcd, which then exits; dhcp6c releases
        as it exits, on SIGTERM)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal({"dhcpcd": signal.SIGALRM, "dhcpcd6": signal.SIGALRM,
                                   "dhcp6c": signal.SIGTERM}.get(self.kind, signal.SIGUSR2))

    def restart(self) -> None:
        """Stops the client and starts it again (a board that reboots), as it was before any inform()."""
        self.stop()
        if self.static:
            subprocess.run(["ip", "-n", self.netns, "addr", "del", self.static, "dev", "eth0"], capture_output=True)
            self.static = ""
        self.start()

    def link_change(self, down: float = 1.0) -> None:
        """Takes the client's link down for ``down`` seconds and up again (a cable pulled
        and put back, or a move to another access point): a client that holds a lease
        must then find out whether it still may (RFC 8415 18.2.12, RFC 2131 3.2)."""
        for state in ("down", "up"):
            subprocess.run(["ip", "-n", self.netns, "link", "set", "dev", "eth0", state], check=True,
                           capture_output=True)
            if state == "down":
                time.sleep(down)   # the length of the outage is the stimulus, not a wait for the client

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
