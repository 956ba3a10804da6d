"""RFC 6704's Forcerenew Nonce Authentication, on the DHCPv4 Authentication option
(90, RFC 3118): the nonce a server gives in its ACK to a client that offered
option 145, and the FORCERENEW signed with it (HMAC-MD5 over the whole DHCP
message, the digest, hops and giaddr counted as zero, RFC 3118 2).

    >>> ack_option = nonce_option(key, replay=1)          # option 90's payload, in the ACK
    >>> signed = sign_forcerenew(forcerenew_frame, key, replay=2)
"""

from __future__ import annotations

import hashlib
import hmac

from .layout import BOOTP_AT, FRAME_OPTIONS, Bootp, patch_checksums
from .options import iter_options

AUTHENTICATION = 90            # RFC 3118
FORCERENEW_NONCE_CAPABLE = 145   # RFC 6704 4: the client lists the algorithms it takes
PROTOCOL_NONCE = 3             # RFC 6704 3.3: Forcerenew Nonce Authentication
HMAC_MD5 = 1
RDM_COUNTER = 0                # a monotonically increasing counter
NONCE_VALUE, HMAC_DIGEST = 1, 2   # the Authentication Information's type


def _head(replay: int) -> bytes:
    return bytes((PROTOCOL_NONCE, HMAC_MD5, RDM_COUNTER)) + replay.to_bytes(8, "big")


def nonce_option(key: bytes, replay: int) -> bytes:
    """Option 90's payload that hands the client ``key`` (16 bytes), in an ACK."""
    if len(key) != 16:
        raise ValueError("an RFC 6704 nonce is 16 bytes")
    return _head(replay) + bytes((NONCE_VALUE,)) + key


def digest_placeholder(replay: int) -> bytes:
    """Option 90's payload in a FORCERENEW before it is signed: the digest all zero."""
    return _head(replay) + bytes((HMAC_DIGEST,)) + bytes(16)


def sign_forcerenew(frame: bytes, key: bytes) -> bytes:
    """``frame`` (Ethernet to DHCP, carrying :func:`digest_placeholder` as option 90) with
    the digest filled in and the checksums made right: HMAC-MD5 with ``key`` over the
    DHCP message (the UDP payload) with the digest, hops and giaddr zero."""
    at = next((at for at, code, _p in iter_options(frame, FRAME_OPTIONS) if code == AUTHENTICATION), None)
    if at is None:
        raise ValueError("no option 90 to sign")
    digest_at = at + 2 + len(_head(0)) + 1
    message = bytearray(frame[BOOTP_AT:])
    message[digest_at - BOOTP_AT:digest_at - BOOTP_AT + 16] = bytes(16)
    message[Bootp.HOPS] = 0
    message[Bootp.GIADDR:Bootp.GIADDR + 4] = bytes(4)
    out = bytearray(frame)
    out[digest_at:digest_at + 16] = hmac.new(key, bytes(message), hashlib.md5).digest()
    patch_checksums(out)
    return bytes(out)


def offers_nonce(options: dict[int, bytes]) -> bool:
    """Whether a client's message offers RFC 6704 with HMAC-MD5 (option 145 lists 1)."""
    return HMAC_MD5 in options.get(FORCERENEW_NONCE_CAPABLE, b"")


__all__ = ["AUTHENTICATION", "FORCERENEW_NONCE_CAPABLE", "digest_placeholder", "nonce_option", "offers_nonce",
           "sign_forcerenew"]
