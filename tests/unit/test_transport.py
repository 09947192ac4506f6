"""The client's HTTP transport against a real (threaded, stdlib) HTTP/1.1 server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coflux.client import Client, ServerUnavailable
from coflux.client.transport import HttpTransport


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the answer says otherwise
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        if self.path.endswith("/slow"):
            time.sleep(1.0)
        body = b'[{"id": "p1", "name": "demo", "created_at": 1.0}]'
        if self.path.endswith("/big"):
            body = b"x" * 1_000_000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away without reading it all (on purpose)
        if self.path.endswith("/drop"):
            # Hang up without saying so, as a server does when a keep-alive runs out.
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def get(transport: HttpTransport, path: str) -> bytes:
    return transport.request("GET", path, {}, None, 5.0).read()


def test_requests_share_one_kept_alive_connection(server: Server) -> None:
    transport = HttpTransport(server.url)
    assert [get(transport, "/a")[:2], get(transport, "/b")[:2]] == [b"[{", b"[{"]
    assert server.connections == 1
    transport.close()


def test_a_connection_the_server_dropped_is_replaced(server: Server) -> None:
    transport = HttpTransport(server.url)
    get(transport, "/drop")
    time.sleep(0.1)  # the server has hung up by now
    assert get(transport, "/after")[:2] == b"[{"
    assert server.connections == 2
    assert server.paths == ["/drop", "/after"]  # sent again only after the failure
    transport.close()


def test_an_answer_left_unread_does_not_spoil_the_next_request(server: Server) -> None:
    transport = HttpTransport(server.url)
    transport.request("GET", "/big", {}, None, 5.0).read(10)  # most of it left unread
    assert get(transport, "/next")[:2] == b"[{"
    transport.close()


def test_the_base_url_path_prefixes_every_request(server: Server) -> None:
    with Client(server.url + "/behind/proxy/") as client:
        assert [p.name for p in client.list_projects()] == ["demo"]
    assert server.paths == ["/behind/proxy/api/projects"]


def test_a_slow_server_is_reported_as_timed_out(server: Server) -> None:
    with (
        Client(server.url, timeout=0.2) as client,
        pytest.raises(ServerUnavailable, match="timed out"),
    ):
        client.get_blob("slow")


@pytest.mark.parametrize("host", ["ftp://example.com", "localhost:notaport", "http://"])
def test_a_host_that_is_not_an_http_address_is_refused(host: str) -> None:
    with pytest.raises(ServerUnavailable, match="cannot reach the coflux server"):
        Client(host)
