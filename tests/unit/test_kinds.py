"""Every registered kind can be offered: the page's catalogue and ``GET /v1/destination-types`` show each by its
name and one line, and its secrets are fields it has."""

from __future__ import annotations

import pytest

from worker import kinds


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_each_kind_has_a_name_and_a_line_for_the_catalogue(name: str) -> None:
    config = kinds.KINDS[name].config
    assert config.TITLE.strip() and config.SUMMARY.strip()
    assert "\n" not in config.SUMMARY and config.SUMMARY.endswith(".")


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_each_kinds_secrets_and_connection_fields_are_its_fields(name: str) -> None:
    config = kinds.KINDS[name].config
    fields = set(config.model_fields)
    assert set(config.SECRETS) <= fields
    assert fields >= config.CONNECTION | config.LOCATION
