"""Settings that guard the admin surface: a long enough admin token, and the proxies whose headers are believed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from worker.settings import MIN_ADMIN_TOKEN, MIN_SECRET_KEY, Settings

KEY = "0123456789abcdefghijklmnopqrstuvwxyz"


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **{"secret_key": KEY, **values})  # type: ignore[call-arg,arg-type]


def test_an_admin_token_needs_32_characters_and_the_refusal_says_how_to_make_one() -> None:
    assert settings(admin_token="x" * MIN_ADMIN_TOKEN).admin_token.get_secret_value() == "x" * MIN_ADMIN_TOKEN
    with pytest.raises(ValidationError, match=r"at least 32 characters; make one with: tracedrop keygen"):
        settings(admin_token="x" * (MIN_ADMIN_TOKEN - 1))


@pytest.mark.parametrize("weak", ["short", "k" * 44, KEY[: MIN_SECRET_KEY - 1]])
def test_a_weak_secret_key_is_refused_saying_how_to_make_one(weak: str) -> None:
    with pytest.raises(ValidationError, match=r"secret_key\n.*at least 32 characters, not a repeated few; make one "
                                              r"with: tracedrop keygen"):
        settings(admin_token="x" * MIN_ADMIN_TOKEN, secret_key=weak)


def test_trusted_proxies_are_addresses_or_networks_and_none_by_default() -> None:
    token = "x" * MIN_ADMIN_TOKEN
    assert settings(admin_token=token).proxies() == []
    assert settings(admin_token=token, trusted_proxies="10.0.0.5, 10.0.1.0/24,::1").proxies() == [
        "10.0.0.5", "10.0.1.0/24", "::1"]
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address or network"):
        settings(admin_token=token, trusted_proxies="10.0.0.5,proxy.local")
