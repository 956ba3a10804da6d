"""Test doubles and harnesses, shared by the unit tests, the lab tests and the
helper processes the lab tests run inside namespaces (``python -m
tests.support.hostile_server``, from the checkout's top folder)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]


def module_argv(name: str, *args: str) -> list[str]:
    """The command that runs ``tests.support.<name>`` as a program (cwd: REPO)."""
    return [sys.executable, "-m", f"tests.support.{name}", *args]


@contextlib.contextmanager
def running_in(netns: str, name: str, *args: str, ready: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``tests.support.<name>`` running in ``netns`` until the block ends (killed
    then, however it ends); it has started once it wrote ``ready``."""
    proc = subprocess.Popen(["ip", "netns", "exec", netns, *module_argv(name, *args)], cwd=REPO,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
