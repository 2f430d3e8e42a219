"""Error mapping: whatever a store answers, the connection test names it with one of the codes docs/s3.md lists."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)
from botocore.parsers import ResponseParserError
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import NameResolutionError

from worker import egress
from worker.errors import EndpointForbidden
from worker.kinds.s3.conntest import CODES, as_test_failure
from worker.kinds.s3.errors import classify

S3_CODES = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket", "PermanentRedirect",
            "AuthorizationHeaderMalformed", "SlowDown", "InternalError", "EntityTooLarge", "NotImplemented",
            "InvalidRequest", "XAmzContentSHA256Mismatch", "", "301", "403", "404", "405", "500"]


def client_error(code: str, status: int, **headers: str) -> ClientError:
    response = {"Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers}}
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


@given(st.one_of(st.sampled_from(S3_CODES), st.text(max_size=30)), st.integers(min_value=100, max_value=599))
def test_every_store_answer_maps_to_a_test_code(code: str, status: int) -> None:
    assert as_test_failure(classify(client_error(code, status))).code in CODES


@pytest.mark.parametrize("exc, code", [
    (ConnectTimeoutError(endpoint_url="http://x"), "timeout"),
    (ReadTimeoutError(endpoint_url="http://x"), "timeout"),
    (EndpointConnectionError(endpoint_url="http://x", error=OSError("refused")), "endpoint_unreachable"),
    (EndpointConnectionError(endpoint_url="http://x", error=NameResolutionError("x", None, OSError())),  # type: ignore[arg-type]
     "endpoint_unreachable"),
    (SSLError(endpoint_url="https://x", error="certificate verify failed"), "endpoint_unreachable"),
    (ConnectionClosedError(endpoint_url="http://x"), "endpoint_unreachable"),
    (ResponseParserError(), "incompatible_endpoint"),
    (HTTPClientError(error=EndpointForbidden("no")), "endpoint_forbidden"),
    (RuntimeError("bug"), "incompatible_endpoint"),
])
def test_transport_failures_map_to_test_codes(exc: Exception, code: str) -> None:
    assert as_test_failure(classify(exc)).code == code


def test_a_region_answer_names_the_region_to_set() -> None:
    error = classify(client_error("PermanentRedirect", 301, **{"x-amz-bucket-region": "eu-central-1"}))
    assert error.code == "wrong_region" and "set region to 'eu-central-1'" in error.message


def test_the_connection_check_fails_closed_if_botocore_changes_shape() -> None:
    with pytest.raises(RuntimeError, match="changed shape"):
        egress.install(object(), allow_private=False)
