"""nameko's ``@rpc``, but the worker's database session is finished before the reply goes out.

nameko sends an RPC's reply (``handle_result``) before it tears the worker down, and
sending yields to other green threads. A transaction left open by a refused call (an
error raised after a write began) would then hold its locks across that wait — on SQLite
the whole database — while other workers queue behind it. Closing the session first
rolls back anything uncommitted and returns the connection to the pool at once.

    from lianxin.rpc import rpc

    @rpc(expected_exceptions=EXPECTED)
    def create_ticket(self, center_id, payload): ...
"""

from __future__ import annotations

from nameko.rpc import Rpc as NamekoRpc

from lianxin.db import Database


class Rpc(NamekoRpc):
    def setup(self) -> None:
        super().setup()
        self.databases = [d for d in self.container.dependencies if isinstance(d, Database)]

    def handle_result(self, message, worker_ctx, result, exc_info):  # noqa: ANN001, ANN201
        for database in self.databases:
            database.worker_teardown(worker_ctx)  # close (and roll back) before replying
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = Rpc.decorator
