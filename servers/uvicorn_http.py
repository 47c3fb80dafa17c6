"""uvicorn's httptools protocol, answering where it would otherwise reset or drop the connection.

Two cases beyond the HTTP stack's own limits (docs/server-contract.md), and nothing else: the
path of an ordinary request is uvicorn's own, so the floor the control server measures is
unchanged.

- **A client that half-closes** (shutdown(SHUT_WR)) after a complete request. uvicorn takes the
  FIN for a disconnect: the transport closes and an answer not written by then (anything that
  waits for the database, or any FastAPI answer) is lost. Here the answer is sent, then the
  connection closes, as after `Connection: close`. A FIN in the middle of a request body, or
  between requests, still closes at once.
- **A request the parser refuses** (a malformed request line or header). uvicorn writes its 400
  and closes the transport at once; bytes the client is still sending stay unread, and closing a
  socket with unread data makes the kernel send an RST: the client sees a reset, often before it
  has read the 400. Here the 400 (a JSON body like every error of the contract) is followed by a
  FIN, and what the client still sends is read and dropped until it closes, or DRAIN_S at most.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http import httptools_impl

DRAIN_S = 2.0
REFUSAL = json.dumps(
    {"error": "invalid_request", "error_description": "malformed HTTP request"},
    separators=(",", ":"),
).encode()


class _Discard:
    """Stands in for the parser after a refusal: what the client still sends is dropped."""

    def feed_data(self, data: bytes) -> None:
        pass


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    refused = False

    def eof_received(self) -> bool | None:
        cycle = self.cycle
        if self.refused or cycle is None or cycle.response_complete or cycle.more_body:
            return None  # nothing to answer: close, as uvicorn does
        cycle.keep_alive = False  # answer, then close
        return True

    def send_400_response(self, msg: str) -> None:
        self.refused = True
        self.parser = _Discard()  # httptools would refuse (and uvicorn log) every later chunk
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the connection's last answer is this 400
        self.pipeline.clear()
        if self.transport.is_closing():
            return
        content = [httptools_impl.STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.append(
            b"content-type: application/json\r\ncache-control: no-store\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(REFUSAL), REFUSAL)
        )
        self.transport.write(b"".join(content))
        if self.transport.can_write_eof():  # TLS cannot half-close: the drain's end closes it
            self.transport.write_eof()  # a FIN once the 400 is out; reading goes on, into _Discard
        self.flow.resume_reading()
        self.loop.call_later(DRAIN_S, self.transport.close)
