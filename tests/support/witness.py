"""tshark on a lab link, in the lab's own namespace: what went over the wire,
read by Wireshark's dissector rather than ours."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


class Capture:
    """``with Capture(netns, "c0", path) as cap: ...`` then ``cap.dhcp()``:
    (message type, your address, client MAC) of every DHCP frame seen."""

    def __init__(self, netns: str, iface: str, path: Path) -> None:
        self.netns, self.iface, self.path = netns, iface, path
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Capture:
        err = self.path.with_suffix(".err")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "tshark", "-q", "-i", self.iface, "-f", "udp port 67 or udp port 68",
             "-w", str(self.path)], stdout=subprocess.DEVNULL, stderr=err.open("wb"), start_new_session=True)
        deadline = time.monotonic() + 15
        # "Capturing on" comes before dumpcap is ready; "Capture started" when it is.
        while "Capture started" not in err.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tshark did not start: {err.read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            time.sleep(0.3)   # the last frames reach the file
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def dhcp(self) -> list[tuple[str, str, str]]:
        out = subprocess.run(["tshark", "-r", str(self.path), "-Y", "dhcp", "-T", "fields",
                              "-e", "dhcp.option.dhcp", "-e", "dhcp.ip.your", "-e", "dhcp.hw.mac_addr"],
                             capture_output=True, text=True, check=True).stdout
        names = {"1": "DISCOVER", "2": "OFFER", "3": "REQUEST", "4": "DECLINE", "5": "ACK", "6": "NAK",
                 "7": "RELEASE", "8": "INFORM", "9": "FORCERENEW"}
        rows = []
        for line in out.splitlines():
            kind, yiaddr, mac = (line.split("\t") + ["", "", ""])[:3]
            rows.append((names.get(kind.split(",")[0], kind), yiaddr, mac))
        return rows
