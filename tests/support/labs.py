"""What the lab tests leave behind, told apart from what runs beside them.

The suite runs in several pytest workers (pytest-xdist), each with labs of its own:
a namespace that appeared during a test is this process's to count when this
process made it, or when a descendant of this process made it and is gone (a
notebook kernel or the scapy-dhcp command that exited without removing it).
Another worker's labs, running or killed on purpose, are not."""

from __future__ import annotations

import os

from scapy_dhcp_ext.lab import PREFIX, list_namespaces
from scapy_dhcp_ext.lab.common import alive, lab_lineage, lab_owner


def ours() -> set[str]:
    """Every namespace of a scapy-dhcp lab on this machine."""
    return {n for n in list_namespaces() if n.startswith(PREFIX)}


def left_behind(before: set[str]) -> set[str]:
    """The lab namespaces made since ``before`` by this process, or by a descendant of it that is gone."""
    me, left = os.getpid(), set()
    for netns in ours() - before:
        lab_id = netns[len(PREFIX):].split("-")[0]
        owner = lab_owner(lab_id)
        if owner == me or (owner is not None and not alive(owner) and me in lab_lineage(lab_id)):
            left.add(netns)
    return left
