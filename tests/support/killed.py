"""A ``scapy-dhcp`` process that serves on a lab link until it is killed with SIGKILL:
what a server keeps must already be on disk then."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from typing import Iterator


@contextlib.contextmanager
def serving_until_killed(iface: str, state: str, start: str) -> Iterator[subprocess.Popen]:
    """Runs ``start`` (``"srv = serve6()"``) in ``scapy-dhcp --iface IFACE --state STATE`` and
    yields once it serves; the process is killed with SIGKILL when the block ends (also when it fails)."""
    code = f"{start}\nimport time\nprint('SERVING', flush=True)\nwhile True: time.sleep(1)"
    proc = subprocess.Popen([sys.executable, "-c", "from scapy_dhcp_ext.front.cli import main; "
                             "raise SystemExit(main())", "--iface", iface, "--state", state, "-c", code],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and "SERVING" in proc.stdout.readline(), "the serving process did not start"
        yield proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
