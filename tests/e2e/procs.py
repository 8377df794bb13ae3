"""What the kernel says about a server's processes (from /proc, Linux only): their
children, which process holds each TCP socket on a port, and a listening socket's queue."""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path
from typing import NamedTuple

_ESTABLISHED, _LISTEN = "01", "0A"
_SYS_PIDFD_GETFD = 438  # x86-64 and arm64 alike


class TcpSocket(NamedTuple):
    """One line of /proc/net/tcp: its state, receive queue (for a listening socket: the
    connections waiting to be accepted) and inode."""

    state: str
    queued: int
    inode: str


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid``, or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid
    ]


def name_of(pid: int) -> str:
    """The name of ``pid`` as ``ps -o comm`` shows it ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def tcp_sockets(port: int) -> list[TcpSocket]:
    """The TCP sockets whose local port is ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                queued = int(fields[4].split(":")[1], 16)
                found.append(TcpSocket(fields[3], queued, fields[9]))
    return found


def sockets_of(pid: int) -> dict[str, int]:
    """The sockets ``pid`` holds: inode to fd."""
    held = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            held[target[8:-1]] = int(fd.name)
    return held


def connections_by_process(pids: list[int], port: int) -> dict[int, list[int]]:
    """For each of ``pids``, the fds of its established connections accepted on ``port``."""
    established = {s.inode for s in tcp_sockets(port) if s.state == _ESTABLISHED}
    return {
        pid: [fd for inode, fd in sockets_of(pid).items() if inode in established] for pid in pids
    }


def listeners_of(pid: int, port: int) -> list[TcpSocket]:
    """The sockets listening on ``port`` that ``pid`` holds."""
    held = sockets_of(pid)
    return [s for s in tcp_sockets(port) if s.state == _LISTEN and s.inode in held]


def borrow_socket(pid: int, fd: int) -> socket.socket:
    """A duplicate of another process's socket (``pidfd_getfd``), to inspect its options."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd failed")
    finally:
        os.close(pidfd)
    return socket.socket(fileno=copy)
