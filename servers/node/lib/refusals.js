'use strict';
// What a Node.js twin answers to a request that its HTTP parser refuses before the request handler
// sees it (docs/server-contract.md, "Beyond the HTTP stack's limits"), and how it closes.
//
// node:http emits 'clientError' for a header section over http.maxHeaderSize (16 KiB unless
// --max-http-header-size says otherwise; HPE_HEADER_OVERFLOW), a malformed request line or header
// (HPE_*), and headers or a request not complete within server.headersTimeout / requestTimeout
// (ERR_HTTP_REQUEST_TIMEOUT). Node's own default writes a bare status line and destroys the socket
// at once. A client still sending (a 1 MiB token) leaves unread bytes in the receive buffer, and
// closing a socket with unread data makes the kernel send an RST instead of a FIN: the client
// gets ECONNRESET, often before it has read the answer. Here instead:
//
//   - a complete answer: status, JSON body {"error", "error_description"} like every other error
//     of the contract, content-length, Connection: close;
//   - after any answers still in flight on the connection (pipelined requests before the bad one),
//     so that no earlier request gets the refusal as its answer;
//   - then socket.end(): a FIN after the answer, not a reset;
//   - and what the client still sends is read and dropped (the parser keeps consuming the socket
//     and reports each later chunk as the same error, ignored here) until the client closes, or
//     for DRAIN_MS at most, after which the socket is destroyed.
//
// The server also sets httpAllowHalfOpen: a client that half-closes after its request
// (shutdown(SHUT_WR)) still gets the full answer, then the connection closes. Without it node:http
// ends the socket when the client's FIN arrives, and an answer that was not written by then (any
// answer that waits for the database) is lost.

const http = require('node:http');

const DRAIN_MS = 2000;
const REFUSED = Symbol('authbench.refused');

// [status, error, error_description] for a parser's or a timer's error.
function refusal(err) {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'invalid_request', `request header fields larger than ${http.maxHeaderSize} bytes`];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'invalid_request', 'chunk extensions too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request_timeout', 'the request was not complete in time'];
    default:
      return [400, 'invalid_request', `malformed HTTP request (${err.code || 'parse error'})`];
  }
}

function answerBytes(err) {
  const [status, error, description] = refusal(err);
  const body = JSON.stringify({ error, error_description: description });
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n`
    + 'content-type: application/json\r\ncache-control: no-store\r\n'
    + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

// Call `then` once no response is being written on this socket any more.
function afterResponses(socket, then) {
  const res = socket._httpMessage; // node:http's response in flight on this connection, if any
  if (!res || socket.destroyed) return then();
  let called = false;
  const next = () => {
    if (called) return;
    called = true;
    setImmediate(afterResponses, socket, then); // node:http assigns the next queued response first
  };
  res.once('finish', next);
  res.once('close', next);
  return undefined;
}

function refuse(err, socket) {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(answerBytes(err));
  socket.resume(); // keep reading: unread bytes at close would turn the FIN into an RST
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  socket.once('close', () => clearTimeout(timer));
}

function onClientError(err, socket) {
  if (socket[REFUSED]) return; // the same error again, for a later chunk: already answered
  socket[REFUSED] = true;
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
    socket.destroy(); // the client is gone: there is no one to answer
    return;
  }
  afterResponses(socket, () => refuse(err, socket));
}

// Every Node twin's server: answers beyond the parser's limits, and half-closed clients answered.
function answerBeyondLimits(server) {
  server.on('clientError', onClientError);
  server.httpAllowHalfOpen = true; // undocumented, read by node:http's socketOnEnd
  return server;
}

module.exports = { DRAIN_MS, answerBeyondLimits, answerBytes, refusal };
