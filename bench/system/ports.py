"""Loopback ports: a free one for a new process, and whether one is taken (checked before
serving, so that a port in use is one line, not a traceback)."""

from __future__ import annotations

import socket

from servers.startup import port_in_use

__all__ = ["free_port", "port_in_use"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
