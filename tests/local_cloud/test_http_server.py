"""The local API's HTTP front (local_cloud/http_server.py): strict framing, nothing smuggled, no request
or connection able to stop the others."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

import pytest

from local_cloud import http_server
from local_cloud.cdn import certificate
from local_cloud.http_server import Incoming, LoopbackServer, Outgoing


@pytest.fixture
def server():
    seen: list[Incoming] = []

    def answer(incoming: Incoming) -> Outgoing:
        if incoming.target == "/fail":
            raise RuntimeError("a bug in the answer")
        seen.append(incoming)
        return Outgoing(200, {"Content-Type": "text/plain"}, b"ok:" + (incoming.body or b"<too large>"))

    running = LoopbackServer(0, answer, max_body=64, server_name="test")
    running.seen = seen
    threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


def _exchange(port: int, raw: bytes) -> bytes:
    """Sends raw bytes, returns everything the server sends until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_a_chunked_body_is_decoded(server):
    reply = _exchange(
        server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok:abcde")


def test_a_request_hidden_in_a_body_is_never_run(server):
    hidden = b"POST /hidden HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    smuggled = f"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {len(hidden)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + hidden
    reply = _exchange(server.port, smuggled)
    assert reply.startswith(b"HTTP/1.1 400") and reply.count(b"HTTP/1.1") == 1
    assert [i.target for i in server.seen] == []


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1e3", b"5, 6"])
def test_a_malformed_content_length_answers_400_and_closes(server, length):
    reply = _exchange(server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + b"\r\n\r\nhello")
    assert reply.startswith(b"HTTP/1.1 400") and b"Connection: close" in reply
    assert server.seen == []


def test_a_body_that_ends_early_is_refused(server):
    reply = _exchange(server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\nshort")
    assert reply.startswith(b"HTTP/1.1 400") and server.seen == []


def test_a_body_over_the_limit_is_not_read_and_the_connection_closes(server):
    reply = _exchange(server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000\r\n\r\nxx")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok:<too large>") and b"Connection: close" in reply
    chunked = b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + b"x" * 65 + b"\r\n0\r\n\r\n"
    assert _exchange(server.port, chunked).endswith(b"ok:<too large>")


@pytest.mark.parametrize("method", [b"post", b"TRACE", b"PROPFIND"])
def test_every_method_reaches_the_answer(server, method):
    reply = _exchange(server.port, method + b" /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and server.seen[-1].method == method.decode()


def test_a_failing_answer_is_a_500_not_a_dropped_connection(server):
    reply = _exchange(server.port, b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 500") and reply.endswith(b'{"message":"Internal server error"}')


def test_utf8_header_values_arrive_as_sent(server):
    _exchange(server.port, "GET /x HTTP/1.1\r\nHost: a\r\nX-Name: café\r\n\r\n".encode())
    assert ("X-Name", "café") in server.seen[-1].headers


def test_one_silent_tls_client_holds_only_its_own_connection(tmp_path):
    cert, key = certificate("d111.cloudfront.net", tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    running = LoopbackServer(0, lambda incoming: Outgoing(200, {}, b"served"), max_body=0, server_name="CloudFront", tls=tls)
    threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", running.port)):  # connects, never says hello
            time.sleep(0.2)
            client = ssl.create_default_context(cafile=str(cert))
            raw = socket.create_connection(("127.0.0.1", running.port), timeout=5)
            with client.wrap_socket(raw, server_hostname="d111.cloudfront.net") as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: d111.cloudfront.net\r\nConnection: close\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        running.shutdown()
        running.server_close()


def test_a_burst_of_clients_is_queued_not_dropped():
    # Nobody accepts yet: the kernel queues connections up to the listen backlog and drops the
    # rest, which retry a second later (socketserver's default backlog is 5).
    waiting = LoopbackServer(0, lambda incoming: Outgoing(200, {}, b""), max_body=0, server_name="test")
    clients = []
    try:
        for _ in range(20):
            clients.append(socket.create_connection(("127.0.0.1", waiting.port), timeout=0.5))
    finally:
        for client in clients:
            client.close()
        waiting.server_close()
    assert len(clients) == 20


@pytest.mark.parametrize("size", [b"0x3", b"+3", b"1_0", b"-3", b"g"])
def test_a_chunk_size_is_plain_hexadecimal(server, size):
    reply = _exchange(server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and server.seen == []


@pytest.mark.parametrize("encoding", [b"gzip, chunked", b"identity", b"chunked, chunked"])
def test_only_the_chunked_transfer_encoding_is_taken(server, encoding):
    reply = _exchange(server.port, b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + encoding + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and server.seen == []


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;" + b"x" * 1022 + b"abc\r\n0\r\n\r\n",  # a cut line
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",  # data past its size
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: \xb2\r\n\r\nab",
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 100 + b"\r\n",
    ],
)
def test_ambiguous_framing_is_refused(server, raw):
    reply = _exchange(server.port, raw)
    assert reply.startswith(b"HTTP/1.1 400") and reply.count(b"HTTP/1.1 ") == 1 and server.seen == []


def test_a_client_that_expects_100_continue_is_told_to_go_on_at_once(server):
    """curl asks before sending a body over 1 KB and waits a second for the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"abc")
        assert sock.recv(65536).endswith(b"ok:abc")


def test_requests_on_one_connection_are_answered_in_turn(server):
    """Keep-alive: a second request after the first's body is framed, not read as part of it."""
    two = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\ny"
    reply = _exchange(server.port, two)
    assert reply.count(b"HTTP/1.1 200") == 2 and [i.target for i in server.seen] == ["/a", "/b"]


@pytest.mark.parametrize(
    ("outgoing", "status"),
    [
        (Outgoing(200, {"X-Note": "one\r\nInjected: yes"}, b"x"), b"502"),  # a header value that would split the response
        (Outgoing(200, {"X-Name": "café"}, b"x"), b"200"),  # UTF-8 header values travel as UTF-8
        (Outgoing(101, {}, b""), b"502"),
        (Outgoing(204, {}, b"a body a 204 may not carry"), b"204"),
    ],
)
def test_an_answer_http_cannot_carry_is_a_502_and_never_a_dropped_connection(outgoing, status):
    running = LoopbackServer(0, lambda incoming: outgoing, max_body=0, server_name="test")
    threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        reply = _exchange(running.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    finally:
        running.shutdown()
        running.server_close()
    assert reply.startswith(b"HTTP/1.1 " + status) and b"Injected" not in reply.split(b"\r\n\r\n")[0].split(b"X-Note")[0]
    if status == b"204":
        assert reply.endswith(b"\r\n\r\n")


def test_a_request_head_over_the_limit_is_refused_whatever_the_read_size(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused while still sending
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 131_000 + b"\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 431") and server.seen == []


def test_a_head_trickled_slower_than_its_deadline_is_refused(server, monkeypatch):
    monkeypatch.setattr(http_server, "HEAD_SECONDS", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.03)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed while the client was still sending
        assert sock.recv(65536).startswith(b"HTTP/1.1 408")
    assert server.seen == []
