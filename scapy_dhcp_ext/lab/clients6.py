"""The lab's DHCPv6 clients: dhcpcd in DHCPv6 mode and WIDE's dhcp6c, both from Debian.

- ``dhcpcd6``: ``dhcpcd -6`` asking for an address (IA_NA 1) and a prefix (IA_PD 2,
  a /64 of it put on ``lo``), no router solicitation (the lab has no router), its
  run and lease folders its own, its log at debug level (``-d``: what it sends and
  when the next one is due, in its own words). Its hook script reports BOUND6, RENEW6, REBIND6,
  EXPIRE6, ... as ``bound6``, ``renew6``, ``rebind6``, ``expire6``, with ``ip6``,
  ``prefix6``, ``serverid6`` (the DUID, hex), ``dns6``, ``t1``, ``t2``, ``vltime``.
- ``dhcp6c``: WIDE-DHCPv6's client (``wide-dhcpv6-client``) with the same two IAs.
  It runs no script for a lease, so its own debug log is read: each REPLY it took
  is one event (``bound6`` when it made the address or prefix, ``renew6`` or
  ``rebind6`` when it extended them), with the same fields.

Both run in the lab's fast mode unless ``:shipped``: the namespace skips duplicate
address detection, so a link-local and a leased address are usable at once. As
shipped (``dhcpcd6:shipped``, ``dhcp6c:shipped``) the kernel's DAD is on, as on a
device: a second or more before the first SOLICIT and after each REPLY. Each keeps
its DUID in the client's own folder, so a restart keeps it, as a device's flash does.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from .common import require

V6_CLIENT_KINDS = ("dhcpcd6", "dhcp6c")
FIELDS6 = ("ip6", "prefix6", "serverid6", "dns6", "t1", "t2", "vltime")

DHCPCD6_CONF = """noipv6rs
ia_na 1
ia_pd 2 lo/0/64
option dhcp6_name_servers, dhcp6_domain_search
"""

# dhcpcd clears the environment and runs the script with $reason and new_* values.
DHCPCD6_SCRIPT = """#!/bin/sh
case "${reason-}" in BOUND6|RENEW6|REBIND6|REBOOT6|EXPIRE6|STOP6|RELEASE6|INFORM6) ;; *) exit 0 ;; esac
event=$(printf '%s' "$reason" | tr 'A-Z' 'a-z')
ip6="${new_dhcp6_ia_na1_ia_addr1-}"
prefix6="${new_dhcp6_ia_pd1_prefix1-}"
[ -n "$prefix6" ] && prefix6="$prefix6/${new_dhcp6_ia_pd1_prefix1_length-}"
serverid6="${new_dhcp6_server_id-}"; dns6="${new_dhcp6_name_servers-}"
t1="${new_dhcp6_ia_na1_t1-}"; t2="${new_dhcp6_ia_na1_t2-}"; vltime="${new_dhcp6_ia_na1_ia_addr1_vltime-}"
@EMIT@exit 0
"""

DHCP6C_CONF = """interface eth0 {
  send ia-na 1;
  send ia-pd 2;
  request domain-name-servers;
};
id-assoc na 1 { };
id-assoc pd 2 { prefix-interface lo { sla-id 1; sla-len 8; }; };
"""


def v6_command(kind: str, options: list[str], workdir: Path, emit: str) -> list[str]:
    """The command line of a v6 lab client on ``eth0`` of its namespace; its folders
    (run, lease, DUID) are a tmpfs and the lab's ``db`` folder, in its mount namespace only."""
    db = workdir / "db"
    db.mkdir(exist_ok=True)
    if kind == "dhcpcd6":
        dhcpcd = require("dhcpcd", "dhcpcd-base")
        script = workdir / "dhcpcd6.sh"
        script.write_text(DHCPCD6_SCRIPT.replace("@EMIT@", emit))
        script.chmod(0o755)
        config = workdir / "dhcpcd6.conf"
        config.write_text(DHCPCD6_CONF)
        setup = ("mkdir -p /run/dhcpcd /var/lib/dhcpcd && mount -t tmpfs tmpfs /run/dhcpcd && "
                 f"mount --bind {db} /var/lib/dhcpcd; "
                 f"exec {dhcpcd} -B -d -6 -L -t 0 -f {config} -c {script} eth0")
    else:
        dhcp6c = require("dhcp6c", "wide-dhcpv6-client")
        config = workdir / "dhcp6c.conf"
        config.write_text(DHCP6C_CONF)
        setup = (f"mkdir -p /var/lib/dhcpv6 && mount --bind {db} /var/lib/dhcpv6; "
                 f"exec {dhcp6c} -f -D -c {config} -p {workdir}/dhcp6c.pid eth0")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup]


_STAMP = re.compile(r"^(\w{3}/\d\d/\d{4} \d\d:\d\d:\d\d): (.*)$")
# Debian 12's dhcp6c prefixes each line with its function's name ("update_address: "), Debian 13's does not.
_MADE = re.compile(r"(?:update_\w+: )?(create|update) an? (address|prefix) (\S+) pltime=(\d+), vltime=(\d+)")
_STATE = re.compile(r"reset a timer on \S+, state=(\w+)")
_DUID = re.compile(r"^\s*DUID: ([0-9a-f:]+)")
_IA = re.compile(r"IA_NA: ID=\d+, T1=(\d+), T2=(\d+)")
_DNS = re.compile(r"nameserver\[\d+\] (\S+)")


def dhcp6c_events(log: str) -> list[dict[str, str]]:
    """dhcp6c's debug log (``-D``) as events: one per REPLY it took, see the module's docstring."""
    events: list[dict[str, str]] = []
    state, want_duid = "INIT", False
    block: dict[str, str] | None = None
    for line in log.splitlines():
        m = _STAMP.match(line)
        if m is None:
            continue
        stamp, text = m.groups()
        if block is not None and (d := _DUID.match(text)):
            if want_duid or "serverid6" not in block:   # the server's comes first (Debian 13 names no option)
                block["serverid6"] = d.group(1).replace(":", "")
            want_duid = False
            continue
        if (s := _STATE.search(text)) and block is None:
            state = s.group(1)
        if "receive reply from" in text:
            block = {"made": "", "t": str(_epoch(stamp)), "state": state}
        elif block is None:
            continue
        elif "option server ID" in text:
            want_duid = True
        elif (ia := _IA.search(text)):
            block["t1"], block["t2"] = ia.groups()
        elif (dns := _DNS.search(text)):
            block["dns6"] = (block.get("dns6", "") + " " + dns.group(1)).strip()
        elif (made := _MADE.search(text)):
            verb, what, item, _pl, vl = made.groups()
            block["ip6" if what == "address" else "prefix6"] = item
            if what == "address":
                block["vltime"] = vl
            block["made"] = block["made"] or verb
        elif "got an expected reply" in text:
            if block.get("made"):
                kind = {"RENEW": "renew6", "REBIND": "rebind6"}.get(str(block["state"]), "bound6") \
                    if block["made"] == "update" else "bound6"
                events.append({"event": kind, **{k: str(v) for k, v in block.items()
                                                 if k in ("t", *FIELDS6)}})
            block = None
    return events


def _epoch(stamp: str) -> float:
    """dhcp6c's local time stamp (``Dec/06/2026 19:41:08``) as epoch seconds."""
    try:
        return time.mktime(time.strptime(stamp, "%b/%d/%Y %H:%M:%S"))
    except ValueError:
        return time.time()
