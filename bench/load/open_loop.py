"""An independent open-loop client, to cross-check Locust: no gevent, no Locust, no HTTP library.

One thread, raw keep-alive sockets and epoll (selectors). Requests start at the intended times
of an arrival stream (bench.load.arrivals: the same process and seed as Locust's), each to an
arm drawn at random, on whichever connection of that arm is free (a new one when none is, up to
the arm's cap; beyond it the request waits for the first connection to come free, and starts
late), and latency is counted from the intended start. epoll waits in whole milliseconds, so the client
sleeps until about 1.5 ms before the next start and then polls without waiting: starts are
on time to a few microseconds (it keeps its core busy, which is why it runs on the load
generator's core and its CPU is not a figure of the run). What it records goes into the same
recorder and the same file format as Locust's, so the analysis reads both alike.

After the last start it waits for the answers still due, for `drain_s` at most; a request still
unanswered then is recorded with status 0 (no answer).

    python -m bench.load.open_loop CONFIG.json     (written by bench.run.independent, deleted after)
"""

from __future__ import annotations

import json
import random
import selectors
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.arrivals import ArrivalStream
from bench.load.recorder import LATE_AFTER_S, Recorder

SPIN_S = 0.0015  # poll without waiting for the last 1.5 ms before a start (epoll is in ms)
MAX_CONNECTIONS = 256  # per arm, unless the config says otherwise: a bound on what a stall costs


@dataclass
class Arm:
    label: str
    port: int
    requests: list[bytes]  # one prepared GET per token, used in turn
    recorder: Recorder = field(default_factory=Recorder)
    idle: list[Connection] = field(default_factory=list)
    turn: int = 0
    host: str = "127.0.0.1"
    cap: int = MAX_CONNECTIONS  # connections at most; then requests wait for a free one
    opened: int = 0
    waiting: deque[float] = field(default_factory=deque)  # intended starts with no connection

    def next_request(self) -> bytes:
        self.turn = (self.turn + 1) % len(self.requests)
        return self.requests[self.turn]


class Connection:
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self, arm: Arm):
        self.arm = arm
        self.busy = False
        self.sock = socket.create_connection((arm.host, arm.port))
        arm.opened += 1
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.intended = self.sent = 0.0

    def send(self, request: bytes, intended: float) -> None:
        self.intended, self.sent, self.buffer, self.busy = intended, time.time(), b"", True
        self.sock.sendall(request)

    def receive(self) -> tuple[int, str | None] | None:
        """(status, Server-Timing) once a whole answer is in; None while it is not."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk
        head, found, body = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return None
        lines = head.split(b"\r\n")
        headers = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if len(body) < int(headers.get(b"content-length", b"0")):
            return None
        timing = headers.get(b"server-timing")
        return int(lines[0].split()[1]), timing.decode() if timing else None


def prepare(label: str, port: int, path: str, tokens: list[str], host: str = "127.0.0.1") -> Arm:
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {t}\r\n\r\n".encode()
        for t in tokens
    ]
    return Arm(label, port, requests, host=host)


class Client:
    """The sending side: starts each request on a free connection of its arm, opens one while
    under the arm's cap, else queues the intended start until a connection comes free."""

    def __init__(self, arms: list[Arm]):
        self.arms = arms
        self.selector = selectors.DefaultSelector()
        self.in_flight = 0
        for arm in arms:
            for conn in arm.idle:
                self.selector.register(conn.sock, selectors.EVENT_READ, conn)

    def start(self, arm: Arm, intended: float) -> None:
        conn = arm.idle.pop() if arm.idle else None
        if conn is None and arm.opened < arm.cap:
            conn = Connection(arm)
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)
        if conn is None:
            arm.waiting.append(intended)  # every connection busy: it starts late
            return
        conn.send(arm.next_request(), intended)
        self.in_flight += 1

    def read(self, conn: Connection) -> None:
        """Whatever arrived on `conn`: a whole answer is recorded, and frees the connection
        for the oldest waiting request of its arm."""
        try:
            answer = conn.receive()
        except (ConnectionError, OSError):  # closed by the server (an idle keep-alive)
            self.selector.unregister(conn.sock)
            conn.sock.close()
            conn.arm.opened -= 1
            if conn in conn.arm.idle:
                conn.arm.idle.remove(conn)
            if not conn.busy:
                return
            answer = (0, None)  # a request in flight got no answer
        if answer is None:
            return
        done = time.time()
        status, timing = answer
        conn.busy = False
        self.in_flight -= 1
        conn.arm.recorder.record(
            int(conn.intended),
            (done - conn.sent) * 1e6,
            status,
            timing,
            (done - conn.intended) * 1e6,
            conn.sent - conn.intended > LATE_AFTER_S,
        )
        if status:
            conn.arm.idle.append(conn)
        if conn.arm.waiting:
            self.start(conn.arm, conn.arm.waiting.popleft())

    @property
    def waiting(self) -> int:
        return sum(len(arm.waiting) for arm in self.arms)

    def abandon(self) -> None:
        """Give up on every request still unanswered: each is recorded with status 0 (no
        answer) and its times up to now; a request that never got a connection never left."""
        now = time.time()
        for key in list(self.selector.get_map().values()):
            conn = key.data
            if conn.busy:
                conn.arm.recorder.record(
                    int(conn.intended),
                    (now - conn.sent) * 1e6,
                    0,
                    None,
                    (now - conn.intended) * 1e6,
                    conn.sent - conn.intended > LATE_AFTER_S,
                )
        for arm in self.arms:
            for intended in arm.waiting:
                arm.recorder.record(int(intended), 0.0, 0, None, (now - intended) * 1e6, True)
            arm.waiting.clear()
        self.in_flight = 0


def run(
    arms: list[Arm], stream: ArrivalStream, seed: int, until: float, drain_s: float = 30.0
) -> None:
    """Send at the stream's intended starts until `until` (wall clock), then wait for answers
    (and for the requests still waiting for a connection), for `drain_s` at most."""
    client = Client(arms)
    draw = random.Random(f"{seed}:open-loop").randrange
    due = stream.take()
    while True:
        now = time.time()
        while due <= now and due < until:  # every start that is due: on time, or late
            client.start(arms[draw(len(arms))], due)
            due = stream.take()
            now = time.time()
        if due >= until and not client.in_flight and not client.waiting:
            return
        if due >= until and now > until + drain_s:
            client.abandon()
            return
        wait = due - now - SPIN_S if due < until else 0.05  # after the last start: just answers
        for key, _ in client.selector.select(max(wait, 0)):
            client.read(key.data)


def main(argv: list[str] | None = None) -> None:
    config = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    arms = [
        prepare(a["label"], a["port"], a["path"], a["tokens"], a.get("host", "127.0.0.1"))
        for a in config["arms"]
    ]
    for arm in arms:  # open the connections before the clock starts
        arm.cap = config.get("max_connections_per_arm", MAX_CONNECTIONS)
        arm.idle = [Connection(arm) for _ in range(config.get("connections_per_arm", 8))]
    while (wait := config.get("begin", 0) - time.time()) > 0:
        time.sleep(wait)
    stream = ArrivalStream(config["arrivals"], config["rate"], config["seed"])
    run(arms, stream, config["seed"], config["until"], config.get("drain_s", 30.0))
    data = {
        "arms": {arm.label: arm.recorder.encode() for arm in arms},
        "seed": config["seed"],
        "arrivals": {
            "process": config["arrivals"],
            "rate": config["rate"],
            "seed": config["seed"],
            "processes": 1,
            "gaps": stream.gaps.encode(),
        },
        "client": "independent",
    }
    output = Path(config["output"])
    output.with_suffix(".tmp").write_text(json.dumps(data))
    output.with_suffix(".tmp").replace(output)


if __name__ == "__main__":
    main()
