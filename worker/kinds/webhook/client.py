"""The only module that talks HTTP to webhook receivers: one urllib3 pool manager behind the egress fence.

Redirects are never followed and nothing is retried here (the outbox retries); an answer's body is read up to
``ANSWER_BYTES`` and the rest is dropped with the connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker import egress
from worker.errors import DeliveryError
from worker.kinds.webhook.errors import from_exception

ANSWER_BYTES = 4096
"""At most this much of an answer's body is read."""
MAX_POOL = 64
USER_AGENT = "tracedrop"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    """The first ANSWER_BYTES of the body at most."""
    location: str | None = None
    retry_after: str | None = None


class Client:
    def __init__(self, *, allow_private: bool) -> None:
        self.http = egress.pool_manager(allow_private=allow_private, maxsize=MAX_POOL)

    def send(self, method: str, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        """Send one request; raise a DeliveryError when there is no answer."""
        try:
            response = self.http.request(method, url, body=body, headers={"User-Agent": USER_AGENT, **headers},
                                         preload_content=False, redirect=False, retries=False)
        except DeliveryError:
            raise
        except Exception as exc:
            raise from_exception(exc) from exc
        try:
            data = response.read(ANSWER_BYTES)
        except Exception:
            data = b""  # the status is the answer; a body that does not arrive does not change it
        finally:
            if response.length_remaining != 0:
                response.close()  # unread bytes: do not reuse the connection
            response.release_conn()
        return Answer(status=response.status, body=data, location=response.headers.get("location"),
                      retry_after=response.headers.get("retry-after"))
