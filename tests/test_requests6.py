"""serve6()'s fast read of a client's message (wire/requests6.py) against the careful reader
(parse_frame6): it gives up on anything the careful one flags, and reads the rest exactly as it
does, on clean messages of every client type, the malformed-request catalog, every cut, the
length lies, and thousands of mutations (re-framed, so that the checksum and lengths agree and
the options themselves are what is tried)."""

from __future__ import annotations

import random

from scapy_dhcp_ext.wire.dhcp6 import (
    CLIENTID,
    IA_NA,
    IA_PD,
    SERVERID,
    STATUS_CODE,
    duid_ll,
    finish_udp6_checksum,
    ia,
    iaaddr,
    iaprefix,
    option6,
    status_option,
)
from scapy_dhcp_ext.wire.frames6 import parse_frame6
from scapy_dhcp_ext.wire.messages6 import elapsed, frame6, message6, oro, rapid_commit
from scapy_dhcp_ext.wire.requests6 import read_request6
from scapy_dhcp_ext.workloads.cases6 import header_cut_cases6, length_cases6, lie_cases6, malformed_cases6
from tests.support.fuzzing import mutate

MAC = "02:5c:00:00:00:07"
DUID = duid_ll(bytes.fromhex("025c00000007"))
SERVER = duid_ll(bytes.fromhex("025c000000ff"))
CLIENT_TYPES = (1, 3, 4, 5, 6, 8, 9, 11)


def messages() -> list[bytes]:
    """Clean client messages of every type, IAs empty and holding addresses and prefixes."""
    na = ia(IA_NA, 1, 0, 0, iaaddr("fd77::100", 3000, 3600))
    pd = ia(IA_PD, 2, 1800, 2880, iaprefix("fd77:2::/56", 3000, 3600))
    common = [option6(CLIENTID, DUID), elapsed(0), oro([23, 24, 82])]
    out = [message6(1, 0x123456, common + [ia(IA_NA, 1), ia(IA_PD, 2)]),
           message6(1, 7, common + [ia(IA_NA, 1), rapid_commit(), option6(20)]),
           message6(11, 8, common)]
    for kind in (3, 5, 8, 9):
        out.append(message6(kind, 9, common + [option6(SERVERID, SERVER), na, pd]))
    out += [message6(6, 10, common + [na, pd]), message6(4, 11, common + [na]),
            message6(3, 12, common + [option6(SERVERID, SERVER), ia(IA_NA, 1, 0, 0, iaaddr("fd77::1", 1, 2)
                                                                       + option6(0xFFF0, b"x"))]),
            # what the careful reader looks into: the fast one leaves to it
            message6(3, 13, common + [option6(SERVERID, SERVER), ia(IA_NA, 1, 0, 0, status_option(2, "none"))]),
            message6(5, 14, common + [option6(SERVERID, SERVER),
                                      ia(IA_NA, 1, 0, 0, iaaddr("fd77::1", 1, 2, status_option(0, "ok")))]),
            message6(1, 15, common + [option6(STATUS_CODE, b"\0\0")])]
    return out


def test_the_fast_reader_never_passes_what_the_careful_one_flags_and_reads_the_rest_alike():
    rng = random.Random(6)
    clean = messages()
    frames = [frame6(m, mac=MAC) for m in clean]
    frames += [frame6(mutate(m, rng), mac=MAC) for m in clean for _ in range(800)]   # checksum and lengths right
    frames += [mutate(f, rng) for f in frames[:len(clean)] for _ in range(200)]       # anything goes
    txid = iter(range(1, 1 << 20))
    frames += [f for c in malformed_cases6(MAC, DUID, new_txid=lambda: next(txid)) for f in c.frames]
    for make in (header_cut_cases6, lie_cases6):
        frames += [f for c in make(clean[0], MAC, new_txid=lambda: next(txid)) for f in c.frames]
    frames += [f for c in length_cases6(clean[3], MAC, range(0, 400), new_txid=lambda: 3) for f in c.frames]
    frames.append(frames[0] + b"\0\0")   # a byte past UDP: careful says nothing, fast leaves it to careful
    fast = 0
    for raw in frames:
        careful, quick = parse_frame6(raw, 5.0), read_request6(raw, 5.0)
        if careful.problems or careful.relayed or careful.msg_type not in CLIENT_TYPES or careful.dport != 547:
            assert quick is None, (careful.problems, raw.hex())
        elif quick is not None:
            fast += 1
            assert quick == careful, raw.hex()   # every field, the IAs and their addresses
            assert quick.msg is not None and careful.msg is not None
            for code, _payload in careful.msg.options:   # its index answers as the list does
                assert quick.msg.first(code) == careful.msg.first(code)
            assert quick.msg.first(0xABCD) is None
    assert fast > 1500   # and it does read the good ones (about 2,000 here)
    # a local sender's frame (veth): the checksum field holds a partial sum, any value; finished as
    # finish_udp6_checksum() finishes it, then read as the careful reader reads that
    for raw in frames[:3000]:
        partial = raw[:60] + rng.randbytes(2) + raw[62:] if len(raw) >= 62 else raw
        quick, careful = read_request6(partial, 5.0, pending=True), parse_frame6(finish_udp6_checksum(partial), 5.0)
        if careful.problems or careful.relayed or careful.msg_type not in CLIENT_TYPES or careful.dport != 547:
            assert quick is None, (careful.problems, raw.hex())
        elif quick is not None:
            assert quick == careful and quick.raw == careful.raw, raw.hex()
    quick = read_request6(frames[1], 0.0)
    assert quick is not None and quick.rapid_commit and quick.client_id == DUID and quick.ia_na[0].iaid == 1
    assert all(read_request6(frame6(m, mac=MAC)) is None for m in clean[-3:])   # statuses: read carefully
