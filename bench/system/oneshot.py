"""Kept for code written against the old name: the harness's client is bench.system.http_client
(`request(port, ...)` still means 127.0.0.1:port). Import from there."""

from bench.system.http_client import Reply, request

__all__ = ["Reply", "request"]
