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
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11

IDLE_SECONDS = 30
# A request's line and headers must arrive within this, however slowly each byte comes.
HEAD_SECONDS = 30
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
# What a client gets instead of a response HTTP cannot carry (h11 will not send after refusing one).
_BAD_GATEWAY = b'{"message":"Internal server error"}'
UNSENDABLE = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n"
    + f"Content-Length: {len(_BAD_GATEWAY)}\r\n\r\n".encode()
    + _BAD_GATEWAY
)


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
            if not self._send(outgoing, incoming.method, close=not complete):
                return
            try:
                self.http.start_next_cycle()
            except h11.LocalProtocolError:  # the client asked to close, or spoke HTTP/1.0
                return

    def _events(self):
        """h11's events, reading from the socket when it needs data. Until the request's head is
        complete, reads stop at MAX_HEAD_BYTES and at HEAD_SECONDS: h11 judges the size of what it
        has buffered only when it asks for more, and a socket timeout is per read."""
        head_bytes, deadline = 0, time.monotonic() + HEAD_SECONDS
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                in_head = self.http.their_state is h11.IDLE
                if in_head and (head_bytes >= MAX_HEAD_BYTES or time.monotonic() > deadline):
                    raise h11.RemoteProtocolError("request head too large or too slow", 431 if head_bytes >= MAX_HEAD_BYTES else 408)
                data = self.request.recv(min(READ_BYTES, MAX_HEAD_BYTES - head_bytes) if in_head else READ_BYTES)
                head_bytes += len(data) if in_head else 0
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
        # A head too large keeps 431, one too slow 408; every other framing error is the front end's 400.
        status = error.error_status_hint if error.error_status_hint in (408, 431) else 400
        print(f"refused a request from {self.client_address[0]}: {error}", file=sys.stderr, flush=True)
        if self.http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self._send(Outgoing(status, {"Content-Type": "application/json"}, BAD_REQUEST), "POST", close=True)
        self._linger()

    def _linger(self) -> None:
        """Close after a refusal without resetting the connection: a client still sending would
        otherwise get a reset instead of the answer. What it still sends is read and dropped, for
        a second at most."""
        try:
            self.request.shutdown(socket.SHUT_WR)
            self.request.settimeout(0.2)
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline and self.request.recv(READ_BYTES):
                pass
        except OSError:
            pass

    def _send(self, outgoing: Outgoing, method: str, close: bool) -> bool:
        """Write the response; whether the connection is still usable. A response HTTP cannot carry
        (a header value with a line break, a status h11 refuses) is answered 502, as API Gateway
        answers a malformed integration response, and the connection closes."""
        try:
            data = self._serialized(outgoing, method, close)
        except (h11.LocalProtocolError, ValueError) as error:
            print(f"refused to send a response: {error}", file=sys.stderr, flush=True)
            data, close = UNSENDABLE, True
        try:
            self.request.sendall(data)
        except OSError:
            return False
        return not close

    def _serialized(self, outgoing: Outgoing, method: str, close: bool) -> bytes:
        headers = {"Server": self.server.server_name_header, "Date": email.utils.formatdate(usegmt=True), **outgoing.headers}
        if close:
            headers["Connection"] = "close"
        # 1xx, 204 and 304 carry no body; a HEAD's answer names the length it would have.
        body = b"" if outgoing.status < 200 or outgoing.status in (204, 304) else outgoing.body
        if outgoing.status >= 200 and outgoing.status not in (204, 304):
            headers["Content-Length"] = str(len(outgoing.body))
        if not 200 <= outgoing.status <= 599:
            raise ValueError(f"status {outgoing.status}")
        encoded = [(name.encode("ascii"), value.encode("utf-8")) for name, value in headers.items()]
        head = h11.Response(status_code=outgoing.status, headers=encoded, reason=_reason(outgoing.status))
        data = self.http.send(head)
        if method != "HEAD" and body:
            data += self.http.send(h11.Data(data=body))
        return data + self.http.send(h11.EndOfMessage())


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
