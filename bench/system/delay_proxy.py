"""A TCP proxy that adds a set delay each way: a database that is further away.

`tc netem` is not available on these machines and toxiproxy needs a Go binary, so the session
server reaches PostgreSQL through this instead. Every chunk read from one side is delivered to
the other `one_way_ms` after it arrived, in order.

Why threads and not asyncio: asyncio (and uvloop) wait in epoll with a timeout rounded up to
whole milliseconds, so a 0.5 ms delay comes out at 1 to 2 ms per hop. `time.sleep` (nanosleep)
is good to about a tenth of a millisecond. Each direction of each connection has a reader and
a writer thread joined by a queue; the pool of a server holds a handful of connections, so a
handful of threads. The proxy is still calibrated: `measure_rtt` times SELECT 1 directly and
through it, and the harness reports the measured figure beside the set one.

    python -m bench.system.delay_proxy --listen-port 6543 --target 127.0.0.1:5432 --one-way-ms 1
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import socket
import sys
import threading
import time

CHUNK = 65536


def _forward(
    source: socket.socket, target: socket.socket, delay_s: float, done: threading.Event
) -> None:
    """Read from source, deliver to target `delay_s` after arrival; EOF passes through."""
    pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def deliver() -> None:
        try:
            while True:
                due, data = pending.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            done.set()

    writer = threading.Thread(target=deliver, daemon=True)
    writer.start()
    try:
        while True:
            data = source.recv(CHUNK)
            pending.put((time.monotonic() + delay_s, data))
            if not data:
                break
    except OSError:
        pending.put((time.monotonic(), b""))
    writer.join()


def _serve_connection(
    client: socket.socket, target_address: tuple[str, int], delay_s: float
) -> None:
    try:
        upstream = socket.create_connection(target_address, timeout=5)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = threading.Event()
    threads = [
        threading.Thread(target=_forward, args=(client, upstream, delay_s, done), daemon=True),
        threading.Thread(target=_forward, args=(upstream, client, delay_s, done), daemon=True),
    ]
    for thread in threads:
        thread.start()
    # When one side is finished, close both: the other direction's reader then ends too.
    done.wait()
    for thread in threads:
        thread.join(timeout=delay_s + 1)
    for sock in (client, upstream):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    for thread in threads:
        thread.join()


class DelayProxy:
    """The proxy, in this process: `start()` returns once it listens; `stop()` closes all."""

    def __init__(self, target: tuple[str, int], one_way_ms: float, listen_port: int = 0):
        self.target, self.delay_s = target, one_way_ms / 1000.0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", listen_port))
        self.port = self.listener.getsockname()[1]
        self.connections: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> DelayProxy:
        self.listener.listen(128)
        self._accepting.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(
                target=_serve_connection, args=(client, self.target, self.delay_s), daemon=True
            )
            thread.start()
            self.connections.append(thread)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def measure_rtt(dsn: str, samples: int = 200) -> float:
    """Median microseconds of a prepared SELECT 1 (PostgreSQL) or a PING (a redis:// URL) over
    one connection to `dsn`, after ten calls of warm-up."""
    import asyncio
    import statistics

    async def median_us(call) -> float:
        for _ in range(10):
            await call()
        times = []
        for _ in range(samples):
            started = time.perf_counter_ns()
            await call()
            times.append((time.perf_counter_ns() - started) / 1000)
        return statistics.median(times)

    async def postgres() -> float:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return await median_us((await conn.prepare("SELECT 1")).fetchval)
        finally:
            await conn.close()

    async def redis() -> float:
        import redis.asyncio as aredis

        client = aredis.Redis.from_url(dsn, single_connection_client=True, socket_timeout=10)
        try:
            return await median_us(client.ping)
        finally:
            await client.aclose()

    return asyncio.run(redis() if dsn.startswith("redis://") else postgres())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.system.delay_proxy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--one-way-ms", type=float, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    try:
        proxy = DelayProxy((host, int(port)), args.one_way_ms, args.listen_port).start()
    except OSError as exc:
        print(
            f"authbench: error: delay proxy cannot listen on {args.listen_port}: {exc.strerror}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    print(f"listening on 127.0.0.1:{proxy.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    proxy.stop()


def tcp_address(dsn: str) -> tuple[str, int]:
    """Host and port of a TCP DSN (the proxy's target)."""
    from urllib.parse import urlsplit

    parts = urlsplit(dsn)
    default = 6379 if parts.scheme.startswith("redis") else 5432
    return parts.hostname or "127.0.0.1", parts.port or default


def via(dsn: str, port: int) -> str:
    """The same DSN, pointed at the proxy on 127.0.0.1:port (user, password, database kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class DelayProxyError(RuntimeError):
    """The delay proxy could not start; the message says why, in one line."""


class ProxyProcess:
    """The proxy as a child process (its CPU is measured as its own group), always stopped."""

    def __init__(self, target_dsn: str, added_rtt_ms: float, port: int | None = None):
        import subprocess

        from bench.system.ports import free_port

        self.target_dsn, self.added_rtt_ms = target_dsn, added_rtt_ms
        self.port = port or free_port()
        host, port = tcp_address(target_dsn)
        argv = [
            sys.executable,
            "-m",
            "bench.system.delay_proxy",
            "--listen-port",
            str(self.port),
            "--target",
            f"{host}:{port}",
            "--one-way-ms",
            str(added_rtt_ms / 2),
        ]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            try:
                said = self.process.communicate(timeout=5)[1].strip().splitlines()
            except subprocess.TimeoutExpired:
                said = []
            self.stop()
            reason = said[-1].removeprefix("authbench: error: ") if said else "no output"
            raise DelayProxyError(f"the delay proxy did not start: {reason}")

    @property
    def dsn(self) -> str:
        return via(self.target_dsn, self.port)

    def calibrate(self) -> dict[str, float]:
        """Measured round trips (SELECT 1, or PING for Redis), direct and through the proxy."""
        direct, proxied = measure_rtt(self.target_dsn), measure_rtt(self.dsn)
        return {
            "set_rtt_ms": self.added_rtt_ms,
            "direct_rtt_us": round(direct, 1),
            "proxied_rtt_us": round(proxied, 1),
            "added_rtt_ms": round((proxied - direct) / 1000, 3),
        }

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":
    main()
