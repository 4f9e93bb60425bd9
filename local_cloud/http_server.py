"""The local API's HTTP front: loopback servers that frame requests strictly and never let one
connection or one request stop the others.

A request reaches its `answer` whole or not at all: the body by Content-Length or chunked, at
most `max_body` bytes (beyond: `body` is None and the connection closes after the answer, as the
rest is never read); a framing error (a malformed or negative Content-Length, both framings, a
broken chunk) answers 400 and closes, like the front end of API Gateway or CloudFront, before
anything behind it sees the request. Every method name reaches `answer` (API Gateway decides
what a method it has no route for gets). TLS is negotiated in the connection's own thread, so a
client that connects and says nothing holds only its own; idle connections time out.
"""

from __future__ import annotations

import re
import socket
import ssl
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDLE_SECONDS = 30
MAX_TRAILERS = 64
# RFC 9110's token: what a header name is made of.
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


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


class FramingError(ValueError):
    pass


def _utf8(value: str) -> str:
    """http.server decodes header bytes as Latin-1; clients send UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    server: LoopbackServer

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536 or not self.parse_request():
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
            return
        try:
            body = self._body()
        except FramingError as error:
            self.close_connection = True
            return self._send(Outgoing(400, {"Content-Type": "application/json"}, b'{"message":"Bad Request"}'), note=str(error))
        headers = [(name, _utf8(value)) for name, value in self.headers.items()]
        incoming = Incoming(self.command, self.path, self.request_version, headers, body, self.client_address[0])
        if body is None:
            self.close_connection = True
        try:
            outgoing = self.server.answer(incoming)
        except Exception:  # an answer that fails is a 500, logged, never a dropped connection
            traceback.print_exc(file=sys.stderr)
            outgoing = Outgoing(500, {"Content-Type": "application/json"}, b'{"message":"Internal server error"}')
        self._send(outgoing)

    def _body(self) -> bytes | None:
        bad_names = [name for name in self.headers if not TOKEN.fullmatch(name)]
        # "Transfer-Encoding : chunked" must not pass as some other header, nor end the headers
        # early (the parser then files it and what follows as a defect).
        if bad_names or self.headers.defects:
            raise FramingError(f"header names {bad_names!r}, {self.headers.defects!r}")
        length = self.headers.get_all("Content-Length") or []
        encodings = [e.strip().lower() for value in self.headers.get_all("Transfer-Encoding") or [] for e in value.split(",")]
        if encodings and encodings != ["chunked"]:
            raise FramingError(f"Transfer-Encoding {encodings!r}: only chunked is taken")
        chunked = bool(encodings)
        if chunked and length:
            raise FramingError("both Content-Length and Transfer-Encoding")
        if chunked:
            return self._chunked()
        if len(set(length)) > 1 or (length and not re.fullmatch(r"[0-9]{1,18}", length[0].strip())):
            raise FramingError(f"Content-Length {length!r}")
        size = int(length[0]) if length else 0
        if size > self.server.max_body:
            return None
        return self._exactly(size)

    def _exactly(self, size: int) -> bytes:
        data = self.rfile.read(size) if size else b""
        if len(data) != size:
            raise FramingError("the body ended before its Content-Length")
        return data

    def _chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            raw = self.rfile.readline(1024)
            if not raw.endswith(b"\n"):
                raise FramingError("a chunk-size line without its end")
            line = raw.strip().split(b";")[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", line):  # int() would also take "0x10", "+5", "1_0"
                raise FramingError(f"chunk size {line[:20]!r}")
            size = int(line, 16)
            if size == 0:
                for _ in range(MAX_TRAILERS + 1):
                    if not self.rfile.readline(1024).strip():
                        return b"".join(chunks)
                raise FramingError("too many trailer lines")
            total += size
            if total > self.server.max_body:
                return None
            chunks.append(self._exactly(size))
            if self._exactly(2) != b"\r\n":
                raise FramingError("chunk data longer than its size")

    def _send(self, outgoing: Outgoing, note: str = "") -> None:
        self.send_response_only(outgoing.status)
        headers = {"Server": self.server.server_name_header, "Date": self.date_time_string(), **outgoing.headers}
        if self.close_connection:
            headers["Connection"] = "close"
        headers["Content-Length"] = str(len(outgoing.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(outgoing.body)
        if note:
            print(f"refused a request from {self.client_address[0]}: {note}", file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: object) -> None:  # the access log is the gateway's
        pass


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP(S) server on 127.0.0.1; `port` 0 picks a free one."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops the connects of a burst of clients, which then
    # retry a second later.
    request_queue_size = 128

    def __init__(self, port: int, answer: Answer, max_body: int, server_name: str, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
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
