"""The gateway's HTTP entrypoints answer without Nagle's delay (lianxin/web.py): a response
over 16 KB leaves in two sends, and with Nagle's algorithm on its body waited for the
client's delayed acknowledgement of the headers (the board's 50 tickets: 59 ms, not 14)."""

import socket

from lianxin.web import NoDelayProtocol, WebServer


def test_an_accepted_connection_has_nagle_off():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        protocol = NoDelayProtocol.__new__(NoDelayProtocol)
        protocol.request = accepted
        protocol.setup()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        protocol.wfile.write(b"x" * 20_000)  # the protocol's buffered writer still works
        protocol.wfile.flush()
        got = b""
        while len(got) < 20_000:
            got += client.recv(65536)
        assert got == b"x" * 20_000
    finally:
        for s in (client, accepted, listener):
            s.close()


def test_a_socket_that_is_not_tcp_is_served_as_before():
    left, right = socket.socketpair()
    try:
        protocol = NoDelayProtocol.__new__(NoDelayProtocol)
        protocol.request = left
        protocol.setup()
        protocol.wfile.write(b"ok")
        protocol.wfile.flush()
        assert right.recv(2) == b"ok"
    finally:
        left.close()
        right.close()


def test_the_server_hands_connections_to_the_no_delay_protocol():
    server = WebServer.__new__(WebServer)
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        wsgi = server.get_wsgi_server(listener, lambda environ, start: [])
        assert wsgi.protocol is NoDelayProtocol
    finally:
        listener.close()
