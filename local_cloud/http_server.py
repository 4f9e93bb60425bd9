"""The local API's HTTP front: loopback servers that frame requests with h11 (the maintained
HTTP/1.1 state machine) and never let one connection or one request stop the others.

A request reaches its `answer` whole or not at all: the body by Content-Length or chunked, at
most `max_body` bytes (beyond: `body` is None and the connection closes after the answer, as the
rest is never read); a framing error (h11's: a malformed or negative Content-Length, both
framings, a transfer coding other than chunked, a broken chunk, a header name that is no token)
answers 400 and closes, like the front end of API Gateway or CloudFront, before anything behind
it sees the request. Every method name reaches `answer` (API Gateway decides what a method it
has no route for gets). TLS is negotiated in the connection's own thread, so a client that
connects and says nothing holds only its own; idle connections time out.
"""

from __future__ import annotations

import email.utils
import socket
import socketserver
import ssl
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11

IDLE_SECONDS = 30
MAX_TRAILERS = 64
# The largest request line and header block h11 buffers before it refuses (431).
MAX_HEAD_BYTES = 65536
READ_BYTES = 65536


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # path and query, as sent
    version: str  # "HTTP/1.1"
    headers: list[tuple[str, str]]  # names in their case, repeated names repeated; values as UTF-8
    body: bytes | None  # None: larger than the server's limit
    client_ip: str


@dataclass(frozen=True)
class Outgoing:
    status: int
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Incoming], Outgoing]
BAD_REQUEST = b'{"message":"Bad Request"}'


def _text(value: bytes) -> str:
    """Header bytes as clients send them, UTF-8 (Latin-1 where they are not)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class _Connection(socketserver.BaseRequestHandler):
    server: LoopbackServer

    def setup(self) -> None:
        self.request.settimeout(IDLE_SECONDS)
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)

    def handle(self) -> None:
        while True:
            try:
                received = self._request()
            except h11.RemoteProtocolError as error:
                self._refuse(error)
                return
            except (TimeoutError, OSError):
                return
            if received is None:
                return
            incoming, complete = received
            try:
                outgoing = self.server.answer(incoming)
            except Exception:  # an answer that fails is a 500, logged, never a dropped connection
                traceback.print_exc(file=sys.stderr)
                outgoing = Outgoing(500, {"Content-Type": "application/json"}, b'{"message":"Internal server error"}')
            if not self._send(outgoing, incoming.method, close=not complete) or not complete:
                return
            try:
                self.http.start_next_cycle()
            except h11.LocalProtocolError:  # the client asked to close, or spoke HTTP/1.0
                return

    def _events(self):
        """h11's events, reading from the socket when it needs data; None at the end of input."""
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                data = self.request.recv(READ_BYTES)
                self.http.receive_data(data)
                continue
            yield event

    def _request(self) -> tuple[Incoming, bool] | None:
        """The next request and whether its whole body was read (False: over the limit)."""
        events = self._events()
        head = next(events)
        if isinstance(head, h11.ConnectionClosed):
            return None
        declared = [int(value) for name, value in head.headers if name == b"content-length"]
        if declared and declared[0] > self.server.max_body:  # never read: the connection closes after the answer
            return self._incoming(head, None), False
        if self.http.they_are_waiting_for_100_continue:  # curl asks before a body over 1 KB, then waits a second
            self.request.sendall(self.http.send(h11.InformationalResponse(status_code=100, headers=[])))
        chunks, size = [], 0
        for event in events:
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.server.max_body:
                    return self._incoming(head, None), False
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                if len(event.headers) > MAX_TRAILERS:
                    raise h11.RemoteProtocolError(f"{len(event.headers)} trailer fields", 400)
                return self._incoming(head, b"".join(chunks)), True
            else:  # the client went away mid-body: nothing to answer
                return None
        return None

    def _incoming(self, head: h11.Request, body: bytes | None) -> Incoming:
        headers = [(_text(name), _text(value)) for name, value in head.headers.raw_items()]
        version = f"HTTP/{head.http_version.decode()}"
        return Incoming(_text(head.method), _text(head.target), version, headers, body, self.client_address[0])

    def _refuse(self, error: h11.RemoteProtocolError) -> None:
        # A head too large keeps h11's 431; every other framing error is the front end's 400.
        status = 431 if error.error_status_hint == 431 else 400
        print(f"refused a request from {self.client_address[0]}: {error}", file=sys.stderr, flush=True)
        if self.http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self._send(Outgoing(status, {"Content-Type": "application/json"}, BAD_REQUEST), "POST", close=True)

    def _send(self, outgoing: Outgoing, method: str, close: bool) -> bool:
        """Write the response; whether the connection is still usable."""
        headers = {"Server": self.server.server_name_header, "Date": email.utils.formatdate(usegmt=True), **outgoing.headers}
        if close:
            headers["Connection"] = "close"
        headers["Content-Length"] = str(len(outgoing.body))
        try:
            head = h11.Response(status_code=outgoing.status, headers=list(headers.items()), reason=_reason(outgoing.status))
            data = self.http.send(head)
            if method != "HEAD" and outgoing.body:
                data += self.http.send(h11.Data(data=outgoing.body))
            data += self.http.send(h11.EndOfMessage())
            self.request.sendall(data)
        except (h11.LocalProtocolError, OSError):
            return False
        return True


class LoopbackServer(socketserver.ThreadingTCPServer):
    """A threaded HTTP(S) server on 127.0.0.1; `port` 0 picks a free one."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the connects of a burst of clients, which then
    # retry a second later.
    request_queue_size = 128

    def __init__(self, port: int, answer: Answer, max_body: int, server_name: str, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Connection)
        self.answer, self.max_body, self.server_name_header, self.tls = answer, max_body, server_name, tls

    @property
    def port(self) -> int:
        return self.server_address[1]

    def finish_request(self, request: socket.socket, client_address) -> None:
        # In the connection's thread: the handshake (and its timeout) holds no one else.
        if self.tls:
            request.settimeout(IDLE_SECONDS)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        traceback.print_exc(file=sys.stderr)
