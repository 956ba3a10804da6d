"""The raw socket and the interface: an AF_PACKET socket with a BPF filter
compiled here by hand (no tcpdump), and what the kernel says of an interface
(its MAC, its IPv4 address, whether it is up). :mod:`.transport` sends and
matches over it.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any, Callable, Protocol

from ..errors import NoPrivileges, NoSuchInterface, TransportError
from ..wire import mac_str

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_AUXDATA = 8
TP_STATUS_CSUMNOTREADY = 1 << 3
SO_ATTACH_FILTER = 26
IFF_UP = 0x1
SIOCGIFFLAGS = 0x8913
SIOCGIFHWADDR = 0x8927
SIOCGIFMTU = 0x8921

# tcpdump -dd 'arp or icmp or (udp and src port 67 and ip[6:2] & 0x1fff = 0)'
DHCP_FILTER = [
    (0x28, 0, 0, 0x0000000C),  # ldh [12]
    (0x15, 10, 0, 0x00000806),  # jeq ARP -> accept
    (0x15, 0, 10, 0x00000800),  # jeq IPv4 else drop
    (0x30, 0, 0, 0x00000017),  # ldb [23]
    (0x15, 7, 0, 0x00000001),  # jeq ICMP -> accept (liveness probes)
    (0x15, 0, 7, 0x00000011),  # jeq UDP else drop
    (0x28, 0, 0, 0x00000014),  # ldh [20]
    (0x45, 5, 0, 0x00001FFF),  # jset fragment offset -> drop
    (0xB1, 0, 0, 0x0000000E),  # ldxb 4*([14]&0xf)
    (0x48, 0, 0, 0x0000000E),  # ldh [x+14]  (UDP source port)
    (0x15, 0, 2, 0x00000043),  # jeq 67 else drop
    (0x06, 0, 0, 0x00040000),  # accept
    (0x06, 0, 0, 0x00040000),  # accept (ARP, ICMP)
    (0x06, 0, 0, 0x00000000),  # drop
]

# While a server runs: also UDP *to* port 67 (clients' requests, relays' from 67 to 67).
SERVE_FILTER = [
    (0x28, 0, 0, 0x0000000C),  # ldh [12]
    (0x15, 11, 0, 0x00000806),  # jeq ARP -> accept
    (0x15, 0, 11, 0x00000800),  # jeq IPv4 else drop
    (0x30, 0, 0, 0x00000017),  # ldb [23]
    (0x15, 8, 0, 0x00000001),  # jeq ICMP -> accept
    (0x15, 0, 8, 0x00000011),  # jeq UDP else drop
    (0x28, 0, 0, 0x00000014),  # ldh [20]
    (0x45, 6, 0, 0x00001FFF),  # jset fragment offset -> drop
    (0xB1, 0, 0, 0x0000000E),  # ldxb 4*([14]&0xf)
    (0x48, 0, 0, 0x0000000E),  # ldh [x+14]  (UDP source port)
    (0x15, 2, 0, 0x00000043),  # jeq 67 -> accept
    (0x48, 0, 0, 0x00000010),  # ldh [x+16]  (UDP destination port)
    (0x15, 0, 1, 0x00000043),  # jeq 67 -> accept, else drop
    (0x06, 0, 0, 0x00040000),  # accept
    (0x06, 0, 0, 0x00000000),  # drop
]


AUXDATA_SPACE = socket.CMSG_SPACE(20)  # struct tpacket_auxdata


class RawSocket(Protocol):
    """What the transport needs of a socket; tests inject a fake one."""

    def send(self, data: bytes) -> int: ...
    def recvmsg(self, bufsize: int, ancbufsize: int = ..., flags: int = ...) -> tuple[bytes, list[Any], int, Any]: ...
    def recv(self, bufsize: int, flags: int = ...) -> bytes: ...
    def fileno(self) -> int: ...
    def getsockopt(self, level: int, option: int) -> int: ...
    def close(self) -> None: ...


# Makes a socket as ``socket.socket(family, type, proto)`` does. The default makes it in this
# process's network namespace; labgrid's ``NetNamespace.socket`` makes it in a namespace of its
# agent's (a remote place's link), and an ioctl on such a socket asks about that namespace's
# interfaces.
NewSocket = Callable[..., socket.socket]


def _ifreq(iface: str, request: int, new_socket: NewSocket = socket.socket) -> bytes:
    import fcntl

    with new_socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            return fcntl.ioctl(s.fileno(), request, struct.pack("256s", iface.encode()[:15]))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                raise NoSuchInterface(iface) from None
            raise


def interface_mac(iface: str, new_socket: NewSocket = socket.socket) -> str:
    """The interface's hardware address, as text."""
    return mac_str(_ifreq(iface, SIOCGIFHWADDR, new_socket)[18:24])


def interface_ipv4(iface: str, new_socket: NewSocket = socket.socket) -> str | None:
    """The interface's IPv4 address as ``"10.0.0.5/24"``, or None without one."""
    try:
        addr = _ifreq(iface, 0x8915, new_socket)[20:24]     # SIOCGIFADDR
        mask = _ifreq(iface, 0x891B, new_socket)[20:24]     # SIOCGIFNETMASK
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            return None
        raise
    return f"{socket.inet_ntoa(addr)}/{bin(int.from_bytes(mask, 'big')).count('1')}"


def interface_up(iface: str, new_socket: NewSocket = socket.socket) -> bool:
    flags = struct.unpack("H", _ifreq(iface, SIOCGIFFLAGS, new_socket)[16:18])[0]
    return bool(flags & IFF_UP)


def interface_mtu(iface: str, new_socket: NewSocket = socket.socket) -> int:
    """The interface's MTU, 1500 when it cannot be read."""
    try:
        return int(struct.unpack("i", _ifreq(iface, SIOCGIFMTU, new_socket)[16:20])[0])
    except (OSError, NoSuchInterface):
        return 1500


SO_RCVBUFFORCE = 33


def _big_receive_buffer(sock: socket.socket, size: int) -> None:
    """Room for a flood or a load's replies: past net.core.rmem_max (root may), else up to it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def attach_filter(sock: Any, program: list[tuple[int, int, int, int]]) -> None:
    """Puts a classic BPF program on the socket (replacing the one it had)."""
    import ctypes

    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(buf)))


def open_raw_socket(iface: str, new_socket: NewSocket = socket.socket,
                    program: list[tuple[int, int, int, int]] | None = None) -> socket.socket:
    """An AF_PACKET socket on ``iface`` with the DHCP filter (or ``program``)
    attached before bind, so no unfiltered frame is ever queued."""
    try:
        sock = new_socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise NoPrivileges() from None
    try:
        attach_filter(sock, DHCP_FILTER if program is None else program)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # older kernels: our own frames are skipped by their source MAC instead
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)  # says when a checksum is not finished yet
        sock.bind((iface, ETH_P_ALL))
        _big_receive_buffer(sock, 4 << 20)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.ENODEV, errno.ENXIO):
            raise NoSuchInterface(iface) from None
        raise TransportError(f"cannot open a raw socket on {iface}: {exc.strerror}") from None
    return sock
