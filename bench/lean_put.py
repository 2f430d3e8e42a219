"""Bench-only S3 PutObject and HeadObject without boto3's pipeline: botocore's SigV4 signer, urllib3 or aiohttp.

Used by the raw async baseline and by bench/drain_experiments.py to show what the worker would gain from a leaner
PUT. Path-style URLs, payload signed (sha256) over plain HTTP as boto3 does, one pool per endpoint.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote, urlsplit

import aiohttp
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError


class PutError(RuntimeError):
    """The store answered a PUT with something other than 200 and an ETag."""


def signed_headers(credentials: Credentials, region: str, url: str, body: bytes,
                   content_type: str = "application/json", method: str = "PUT") -> dict[str, str]:
    headers = {"Content-Type": content_type} if method == "PUT" else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
    return dict(request.headers.items())


class SyncPut:
    """PutObject over a urllib3 connection pool (thread-safe, ``maxsize`` connections kept)."""

    def __init__(self, endpoint: str, access_key: str, secret: str, *, region: str = "us-east-1",
                 maxsize: int = 64) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = Credentials(access_key, secret)
        self.region = region
        parts = urlsplit(self.endpoint)
        self.pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=maxsize, block=True,
                                               retries=False, timeout=urllib3.Timeout(connect=3, read=6))

    def put(self, bucket: str, key: str, body: bytes) -> None:
        path = f"/{bucket}/{quote(key, safe='/~')}"
        headers = signed_headers(self.credentials, self.region, self.endpoint + path, body)
        response = self.pool.urlopen("PUT", path, body=body, headers=headers, preload_content=True)
        if response.status != 200 or "ETag" not in response.headers:
            raise PutError(f"PUT {key}: HTTP {response.status} {response.data[:200]!r}")


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


class LeanClient:
    """What the S3 client module needs of a boto3 client (``put_object``), over SyncPut; errors as botocore's.

    Built from a destination's config, so the worker's error mapping (worker/kinds/s3/errors.py) works unchanged."""

    def __init__(self, endpoint: str, region: str, access_key: str, secret: str, token: str | None = None,
                 *, maxsize: int = 64) -> None:
        self.endpoint = endpoint
        self.put = SyncPut(endpoint, access_key, secret, region=region, maxsize=maxsize)
        if token:
            self.put.credentials = Credentials(access_key, secret, token)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, str]:
        path = f"/{Bucket}/{quote(Key, safe='/~')}"
        headers = signed_headers(self.put.credentials, self.put.region, self.put.endpoint + path, Body, ContentType)
        try:
            response = self.put.pool.urlopen("PUT", path, body=Body, headers=headers, preload_content=True)
        except urllib3.exceptions.TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=self.endpoint, error=exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise EndpointConnectionError(endpoint_url=self.endpoint, error=exc) from exc
        if response.status != 200:
            code = re.search(rb"<Code>([^<]*)</Code>", response.data)
            message = re.search(rb"<Message>([^<]*)</Message>", response.data)
            raise ClientError({"Error": {"Code": code.group(1).decode() if code else str(response.status),
                                         "Message": message.group(1).decode() if message else ""},
                               "ResponseMetadata": {"HTTPStatusCode": response.status}}, "PutObject")
        return {"ETag": response.headers.get("ETag", "")} if "ETag" in response.headers else {}
