"""The longer fuzz run of the parse path: random and mutated replies.

    ./dev.sh fuzz [N]        (default 100000 inputs)

Counts what it fed and what it found; exits 1 if anything raised."""

from __future__ import annotations

import random
import sys
import time
import traceback

from scapy_dhcp_ext.roles.results4 import Lease
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support.fuzzing import SEEDS, mutate


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 2131)
    counts = {"inputs": 0, "random": 0, "mutated": 0, "flagged malformed": 0, "read clean": 0,
              "Scapy dissections": 0, "crashes": 0}
    slowest = 0.0
    parse_frame(SEEDS[0]).packet.summary()  # Scapy's first import is not the parser's time
    start = time.perf_counter()
    for i in range(n):
        if i % 10 == 0:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 700)))
            counts["random"] += 1
        else:
            raw = mutate(rng.choice(SEEDS), rng)
            counts["mutated"] += 1
        counts["inputs"] += 1
        t = time.perf_counter()
        try:
            frame = parse_frame(raw)
            frame.summary()
            if frame.is_dhcp:
                Lease.from_ack(frame)
            if i % 20 == 0:
                frame.packet.summary()
                counts["Scapy dissections"] += 1
        except Exception:
            counts["crashes"] += 1
            print(f"crash on {raw.hex()}", file=sys.stderr)
            traceback.print_exc()
            continue
        slowest = max(slowest, time.perf_counter() - t)
        counts["flagged malformed" if frame.problems else "read clean"] += 1
    elapsed = time.perf_counter() - start
    for key, value in counts.items():
        print(f"{key:20} {value}")
    print(f"{'slowest input':20} {slowest * 1000:.2f} ms")
    print(f"{'time':20} {elapsed:.1f} s")
    print(f"fuzz: {counts['inputs'] - counts['crashes']} passed, {counts['crashes']} failed")
    return 1 if counts["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
