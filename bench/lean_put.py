"""The baseline's plain async S3 client: PutObject and HeadObject with botocore's SigV4 signer and aiohttp, nothing
else (no egress fence, no error mapping, no outbox).

The raw async PUT rate (bench/raw.py) and the latency probe (bench/latency.py) use it; the worker's own client is
worker/kinds/s3/bucket.py. Path-style URLs, payload signed (sha256) over plain HTTP as boto3 does.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class PutError(RuntimeError):
    """The store answered a PUT with something other than 200 and an ETag."""


def signed_headers(credentials: Credentials, region: str, url: str, body: bytes,
                   content_type: str = "application/json", method: str = "PUT") -> dict[str, str]:
    headers = {"Content-Type": content_type} if method == "PUT" else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
    return dict(request.headers.items())


class AsyncPut:
    """PutObject with aiohttp, ``limit`` requests in flight; call from one event loop."""

    def __init__(self, endpoint: str, access_key: str, secret: str, *, region: str = "us-east-1",
                 limit: int = 64) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = Credentials(access_key, secret)
        self.region = region
        self.limit = limit
        self.session: aiohttp.ClientSession | None = None
        self.gate: asyncio.Semaphore | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.limit),
                                             timeout=aiohttp.ClientTimeout(sock_connect=3, sock_read=6))
        self.gate = asyncio.Semaphore(self.limit)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def put(self, bucket: str, key: str, body: bytes) -> None:
        assert self.session is not None and self.gate is not None
        url = f"{self.endpoint}/{bucket}/{quote(key, safe='/~')}"
        async with self.gate:
            headers = signed_headers(self.credentials, self.region, url, body)
            async with self.session.put(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200 or "ETag" not in response.headers:
                    raise PutError(f"PUT {key}: HTTP {response.status}")

    async def exists(self, bucket: str, key: str) -> bool:
        """HEAD the object: True on 200, False on 404, PutError otherwise."""
        assert self.session is not None and self.gate is not None
        url = f"{self.endpoint}/{bucket}/{quote(key, safe='/~')}"
        async with self.gate:
            headers = signed_headers(self.credentials, self.region, url, b"", method="HEAD")
            async with self.session.head(url, headers=headers) as response:
                if response.status in (200, 404):
                    return response.status == 200
                raise PutError(f"HEAD {key}: HTTP {response.status}")
