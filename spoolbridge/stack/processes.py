"""Background JVMs: start detached, recognise our own pids, stop exactly those.

Every JVM the stack starts carries ``-Dspoolbridge.stack=<absolute stack dir>`` on its command line, so
``down`` kills a recorded pid only if that pid is still the process we started (pids are reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from schemas.errors import StackError

# Popen objects of children started by this process, kept so they are reaped (no zombies, no
# "subprocess still running" warnings) when this same process stops them.
_children: dict[int, subprocess.Popen[bytes]] = {}


def marker_for(stack_dir: Path) -> str:
    return f"-Dspoolbridge.stack={stack_dir.resolve()}"


def start_background(cmd: list[str], log_file: Path, cwd: Path) -> int:
    """Start ``cmd`` in its own session with output appended to ``log_file``; returns its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    _children[proc.pid] = proc
    return proc.pid


def is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def is_ours(pid: int, marker: str) -> bool:
    """True when ``pid`` is alive and its command line carries ``marker``."""
    if not is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return marker.encode() in cmdline


def stop(pid: int, timeout_secs: float = 30.0) -> None:
    """SIGTERM, wait up to ``timeout_secs``, then SIGKILL; returns once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout_secs):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10.0):
            raise StackError(f"process {pid} did not exit after SIGKILL")
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()


def _wait_gone(pid: int, timeout_secs: float) -> bool:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.1)
    return not is_alive(pid)


def rss_mb(pid: int) -> tuple[float, float] | None:
    """(current RSS, peak RSS) in MiB from /proc, or None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (KeyError, ValueError):
        return None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
