"""Test doubles and harnesses, shared by the unit tests, the lab tests and the
helper processes the lab tests run inside namespaces (``python -m
tests.support.hostile_server``, from the checkout's top folder)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def module_argv(name: str, *args: str) -> list[str]:
    """The command that runs ``tests.support.<name>`` as a program (cwd: REPO)."""
    return [sys.executable, "-m", f"tests.support.{name}", *args]
