"""A DHCPv6 server's messages (pure): IAs with their addresses or prefixes and
status codes, ADVERTISE and REPLY, RELAY-REPL around them, RECONFIGURE with
the reconfigure key (RFC 8415 20.4), and the frame to the client's (or the
relay's) link-local address.

RFCs: 8415 (18.3 what a server answers, 19.3 relaying a reply, 21 the options,
20.4 the reconfigure key), 7083 (SOL_MAX_RT, INF_MAX_RT).

Usage::

    >>> ia = ia_reply("NA", 1, t1=1800, t2=2880, items=[("fd77::100", 128, 2700, 3600)])
    >>> payload = message6(REPLY, txid, [server_id(duid), client_id(theirs), ia])
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from .dhcp6 import (
    CLIENT_PORT6,
    CONFIRM,
    IA_NA,
    IA_PD,
    INTERFACE_ID,
    REBIND,
    RECONFIGURE,
    RELAY_MSG,
    RELAY_REPL,
    REPLY,
    SERVER_PORT6,
    ia,
    iaaddr,
    iaprefix,
    ip6_bytes,
    option6,
    status_option,
    udp6_frame,
)
from .messages6 import client_id, message6, server_id
from .msg6 import Frame6, Message6

AUTH = 11
RECONF_MSG = 19
RECONF_ACCEPT = 20
RECONFIGURE_KEY_PROTOCOL, HMAC_MD5, MONOTONIC = 3, 1, 0
KEY_VALUE, HMAC_DIGEST = 1, 2
NOT_ON_LINK = 4    # the reconfigure key's auth-info types (RFC 8415 20.4.1)


def ia_reply(kind: str, iaid: int, *, t1: int = 0, t2: int = 0,
             items: list[tuple[str, int, int, int]] = (),  # type: ignore[assignment]
             status: tuple[int, str] | None = None) -> bytes:
    """An IA_NA or IA_PD as a server sends it: ``items`` are (address or prefix,
    length, preferred, valid); ``status`` a status code in the IA (NoAddrsAvail,
    NoBinding ...)."""
    inner = b""
    for address, length, preferred, valid in items:
        if kind == "NA":
            inner += iaaddr(address, preferred, valid)
        else:
            inner += iaprefix(f"{address}/{length}", preferred, valid)
    if status is not None:
        inner += status_option(status[0], status[1])
    return ia(IA_NA if kind == "NA" else IA_PD, iaid, t1, t2, inner)


def relay_reply(layers: list[Message6], inner: bytes) -> bytes:
    """``inner`` in one RELAY-REPL per RELAY-FORW it came in (``layers``, outermost
    first), each with the hop count, link and peer addresses of its RELAY-FORW and
    its interface-id echoed (RFC 8415 19.3, 21.18)."""
    for layer in reversed(layers):
        options = b""
        interface_id = layer.first(INTERFACE_ID)
        if interface_id is not None:
            options += option6(INTERFACE_ID, interface_id)
        inner = (bytes([RELAY_REPL, layer.hop_count & 0xFF]) + ip6_bytes(layer.link_address or "::")
                 + ip6_bytes(layer.peer_address or "::") + options + option6(RELAY_MSG, inner))
    return inner


def reply_frame6(payload: bytes, *, mac: bytes, src: str | bytes, to_mac: bytes, to: str | bytes,
                 relayed: bool) -> bytes:
    """The server's message in a frame: to a client's port 546, or a relay's 547 (the
    addresses as text or as their 16 bytes)."""
    return udp6_frame(payload, src_mac=mac, dst_mac=to_mac, src=src, dst=to, sport=SERVER_PORT6,
                      dport=SERVER_PORT6 if relayed else CLIENT_PORT6, hop_limit=255 if relayed else 1)


@dataclass
class ReconfigureKey:
    """RFC 8415 20.4: the key a server gives a client that sent Reconfigure Accept,
    and the replay counter that grows with each message carrying it."""

    key: bytes
    counter: int = 0

    def _auth(self, kind: int, value: bytes) -> bytes:
        self.counter += 1
        return option6(AUTH, struct.pack("!BBBQ", RECONFIGURE_KEY_PROTOCOL, HMAC_MD5, MONOTONIC, self.counter)
                       + bytes([kind]) + value)

    def in_reply(self) -> bytes:
        """The Authentication option that hands the key over (in a REPLY)."""
        return self._auth(KEY_VALUE, self.key)

    def sign(self, message: bytes) -> bytes:
        """``message`` (a RECONFIGURE without authentication) with its Authentication
        option appended: HMAC-MD5 over the whole message, the digest field zero."""
        unsigned = message + self._auth(HMAC_DIGEST, bytes(16))
        digest = hmac.new(self.key, unsigned, hashlib.md5).digest()
        return unsigned[:-16] + digest


def reconfigure_message(*, server_duid: bytes, client_duid: bytes, kind: int, key: ReconfigureKey | None) -> bytes:
    """A RECONFIGURE (RFC 8415 18.3.11): transaction id 0, the message the client is
    to send (``kind``: RENEW 5, REBIND 6, INFORMATION-REQUEST 11), signed with the
    client's key, or unauthenticated when ``key`` is None (a client MUST drop that)."""
    body = message6(RECONFIGURE, 0, [server_id(server_duid), client_id(client_duid),
                                     option6(RECONF_MSG, bytes([kind]))])
    return key.sign(body) if key is not None else body


def start_over(f: Frame6, *, server_duid: bytes, mac: bytes, src: str) -> bytes | None:
    """Our REPLY that sends a client with an old lease back to SOLICIT (RFC 8415 18.2.10.1), or
    None: to a REBIND its addresses and prefixes with lifetimes 0, to a CONFIRM NotOnLink."""
    if f.msg_type == REBIND:
        options = [ia_reply(i.kind, i.iaid, items=[(a.address, a.prefix_len, 0, 0) for a in i.addresses])
                   for i in f.ia_na + f.ia_pd]
    elif f.msg_type == CONFIRM:
        options = [status_option(NOT_ON_LINK, "start over")]
    else:
        return None
    body = message6(REPLY, f.txid or 0, [server_id(server_duid), client_id(f.client_id or b"")] + options)
    return reply_frame6(body, mac=mac, src=src, to_mac=f.eth_src, to=f.ip_src or "", relayed=False)
