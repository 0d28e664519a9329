"""Free ports on 127.0.0.1, and who holds a port that is taken."""

from __future__ import annotations

import socket

import psutil


def free_port(taken: set[int]) -> int:
    """A port the kernel says is free now, not already handed out in this run."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def holder(port: int) -> str:
    """'pid 123 (jaeger --config x.yaml)' for the process listening on `port`, as far as we can see."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return "a process linkmatrix may not inspect"
    for connection in connections:
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            if connection.pid is None:
                return "a process of another user"
            try:
                process = psutil.Process(connection.pid)
                command = " ".join(process.cmdline())[:120] or process.name()
            except psutil.Error:
                command = "?"
            return f"pid {connection.pid} ({command})"
    return "an unknown process (or the port is in TIME_WAIT)"
