"""`phoenix serve` with every listener on loopback: run by the Phoenix virtualenv's interpreter (tests/phoenix.py).

Phoenix (20.26) binds its OTLP gRPC listener to ``[::]``, every interface, whatever ``PHOENIX_HOST`` says, and has
no setting for it (``phoenix/server/grpc_server.py``: ``server.add_insecure_port(f"[::]:{port}")``); its HTTP
listener follows ``PHOENIX_HOST``. So this copy rewrites that one address to loopback before Phoenix starts, and the
tests check what it listens on. Standalone: it imports only what Phoenix's own environment has.
"""

import sys

from grpc.aio import _server

_add_insecure_port = _server.Server.add_insecure_port


def _loopback_only(self: _server.Server, address: str) -> int:
    return _add_insecure_port(self, address.replace("[::]", "127.0.0.1", 1))


_server.Server.add_insecure_port = _loopback_only

from phoenix.server.main import main  # noqa: E402

sys.argv = ["phoenix", "serve"]
main()
