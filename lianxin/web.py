"""The gateway's HTTP entrypoint: nameko's ``@http``, served without Nagle's delay.

eventlet's HTTP server buffers a response's writes 16 KB at a time, so a response larger
than that leaves in two sends: the status line and headers, then the body. With Nagle's
algorithm on (sockets' default) the body waits until the client acknowledges the headers,
and a client on a kept-alive connection delays that acknowledgement by up to 40 ms (the
``TCP_QUICKACK`` eventlet sets at a connection's start does not last). The staff board's
page of 50 tickets (28 KB) took 59 ms where the gateway had answered in 14. The body is
sent whole at once, so nothing is gained by holding it back: every connection the gateway
accepts has ``TCP_NODELAY``.

Every ``@http`` of one service must come from here: nameko shares one web server per class,
and two classes would both bind the service's address::

    from lianxin.web import http

    class Gateway:
        @http("GET", "/api/v1/board")
        def board(self, request): ...
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from nameko.web.handlers import HttpRequestHandler as NamekoHttpRequestHandler
from nameko.web.server import HttpOnlyProtocol
from nameko.web.server import WebServer as NamekoWebServer


class NoDelayProtocol(HttpOnlyProtocol):
    """nameko's HTTP protocol on a connection with Nagle's algorithm off."""

    def setup(self) -> None:
        with contextlib.suppress(OSError):  # not a TCP socket (a socket pair): no Nagle
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()


class WebServer(NamekoWebServer):
    """nameko's web server, its connections served by :class:`NoDelayProtocol`."""

    def get_wsgi_server(
        self, sock: Any, wsgi_app: Any, protocol: Any = NoDelayProtocol, debug: bool = False
    ) -> Any:
        return super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)


class HttpRequestHandler(NamekoHttpRequestHandler):
    """nameko's ``@http`` entrypoint on :class:`WebServer`."""

    server = WebServer()


http = HttpRequestHandler.decorator
