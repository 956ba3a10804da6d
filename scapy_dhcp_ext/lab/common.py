"""What the lab's parts share: its errors, running commands, stopping processes, and
finding and removing its namespaces (by name and by the PID of the process that made them)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

PREFIX = "sdl-"


class LabError(RuntimeError):
    """The lab could not be set up; the message says what is missing."""


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def require(binary: str, package: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if not path:
        raise LabError(f"{binary} is not installed: apt-get install {package}")
    return path


def terminate(proc: subprocess.Popen[bytes] | None, grace: float = 3.0) -> None:
    """Stops a process the lab started: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            # its whole process group (the lab starts each in a session of its own): a daemon's
            # helpers (dhcpcd's privilege-separation processes) would hold its sockets otherwise
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()


def _pids_in(netns: str) -> list[int]:
    proc = run("ip", "netns", "pids", netns, check=False)
    return [int(p) for p in proc.stdout.split()]


def remove_lab(lab_id: str) -> None:
    """Removes the namespaces, links and processes of the lab with this id."""
    base = PREFIX + lab_id
    names = [n for n in list_namespaces() if n == base or n.startswith(base + "-")]
    for netns in names:
        for pid in _pids_in(netns):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for netns in names:
        run("ip", "netns", "del", netns, check=False)
    run("ip", "link", "del", f"sd{lab_id}c", check=False)


def list_namespaces() -> list[str]:
    proc = run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _owners(lab_id: str) -> list[int]:
    pids = []
    for owner in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*/owner"):
        try:
            pids.append(int(owner.read_text()))
        except (ValueError, OSError):
            continue
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def lineage() -> list[int]:
    """This process's PID and its ancestors' up to init: a lab's folder keeps it, so that a lab
    left by a killed process can be traced to whoever started that process."""
    pids: list[int] = []
    pid = os.getpid()
    while pid > 1 and len(pids) < 64:
        pids.append(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def lab_lineage(lab_id: str) -> list[int]:
    """The lineage its maker recorded in the lab's folder (empty if none)."""
    for path in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*/lineage"):
        try:
            return [int(p) for p in path.read_text().split()]
        except (ValueError, OSError):
            continue
    return []


def lab_owner(lab_id: str) -> int | None:
    """The PID of the process that made this lab, as its folder records it (it may be gone), or None."""
    pids = _owners(lab_id)
    return next((pid for pid in pids if alive(pid)), pids[0] if pids else None)


def _owner_alive(lab_id: str) -> bool:
    """Whether the process that made this lab still runs (its PID is in the lab's folder)."""
    return any(alive(pid) for pid in _owners(lab_id))


def cleanup_stale() -> list[str]:
    """Removes the labs whose process is gone (killed before it could clean up);
    labs of running processes are left alone. Returns the ids removed."""
    ids = sorted({n[len(PREFIX):].split("-")[0] for n in list_namespaces() if n.startswith(PREFIX)})
    stale = [lab_id for lab_id in ids if not _owner_alive(lab_id)]
    for lab_id in stale:
        remove_lab(lab_id)
        for folder in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{lab_id}-*"):
            shutil.rmtree(folder, ignore_errors=True)
    # A folder whose namespaces went but whose owner died before removing it (killed mid-cleanup).
    for owner in Path(tempfile.gettempdir()).glob("scapy-dhcp-lab-*-*/owner"):
        lab_id = owner.parent.name[len("scapy-dhcp-lab-"):].split("-")[0]
        if lab_id not in ids and not _owner_alive(lab_id):
            shutil.rmtree(owner.parent, ignore_errors=True)
    return stale
