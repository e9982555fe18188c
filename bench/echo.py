"""The ceiling a gateway call can reach here: the kit's ``@http`` → one ``@rpc`` that echoes.

Run by ``bench/intake.py`` in two processes, as the real gateway and services are. Both are
the kit's entrypoints, as every service's: the RPC queue a quorum queue, the reply sent
without a confirm, the HTTP connection without Nagle's delay (nameko's own ``@rpc`` declares
a classic queue, which costs the broker less than any service's call does).
"""

from __future__ import annotations

import json

from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from lianxin.rpc import rpc
from lianxin.web import http


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, payload):
        return payload


class EchoGateway:
    name = "bench_echo_gateway"

    echo_rpc = RpcProxy("bench_echo")

    @http("POST", "/echo")
    def echo(self, request):
        result = self.echo_rpc.echo(json.loads(request.get_data()))
        return Response(json.dumps(result), status=201, mimetype="application/json")
