"""The ceiling a gateway call can reach here: nameko ``@http`` → one ``@rpc`` that echoes.

Run by ``bench/intake.py`` in two processes, as the real gateway and services are.
"""

from __future__ import annotations

import json

from nameko.rpc import RpcProxy, rpc
from werkzeug.wrappers import Response

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
