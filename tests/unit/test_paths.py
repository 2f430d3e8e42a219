"""Path templates: refused when saved if unsafe, confined and key-safe when rendered."""

from __future__ import annotations

import re

import pytest

from worker.errors import TemplateError
from worker.kinds.s3.writer import object_key
from worker.paths import BATCH_VARIABLES, key_safe, parse_template, time_values

MOMENT = time_values(1705312800000)


@pytest.mark.parametrize("value, safe", [
    ("prod backend", "prod_backend"), ("a#b?c+d&e", "a_b_c_d_e"), ("a/b", "a_b"), ("..", "_"), (".", "_"),
    ("ключ", "____"), ("nul\x00", "nul_"), ("x" * 2048, "x" * 128), ("ok-1.2_3", "ok-1.2_3"),
])
def test_values_are_made_key_safe(value: str, safe: str) -> None:
    assert key_safe(value) == safe


@pytest.mark.parametrize("template, prefix, values, rendered", [
    ("{prefix}/{date}", "", {}, "2024-01-15"),
    ("{prefix}/{date}", "prod", {}, "prod/2024-01-15"),
    ("{prefix}/{date}/{apiKeyName}", "prod", {}, "prod/2024-01-15"),
    ("{prefix}/{date}/{apiKeyName}", "prod", {"apiKeyName": "../etc/passwd"}, "prod/2024-01-15/.._etc_passwd"),
    ("traces/{year}/{month}/{day}/{hour}", "", {}, "traces/2024/01/15/10"),
    ("{apiKeyName}/{date}", "", {"apiKeyName": "."}, "_/2024-01-15"),
    ("production/llm-traces/{date}", "", {}, "production/llm-traces/2024-01-15"),
    ("a/{apiKeyName}.x/{date}", "", {"apiKeyName": ""}, "a/.x/2024-01-15"),
    ("a/.{apiKeyName}/b", "", {"apiKeyName": ""}, "a/_/b"),
    ("{prefix}/year={year}/month={month}/day={day}", "prod", {}, "prod/year=2024/month=01/day=15"),
    ("date={date}/hour={hour}", "", {}, "date=2024-01-15/hour=10"),
    ("api_key={apiKeyName}/dt={date}", "", {"apiKeyName": "prod backend"}, "api_key=prod_backend/dt=2024-01-15"),
    ("api_key={apiKeyName}/dt={date}", "", {"apiKeyName": "k=v/x"}, "api_key=k_v_x/dt=2024-01-15"),
])
def test_rendering(template: str, prefix: str, values: dict[str, str], rendered: str) -> None:
    assert parse_template(template, prefix=prefix).render({**MOMENT, **values}) == rendered


@pytest.mark.parametrize("template, reason", [
    ("{foo}/{date}", "unknown variable {foo}"),
    ("{{date}}", "only {name} placeholders"),
    ("{date", "only {name} placeholders"),
    ("{% for x in y %}", "unknown variable"),
    ("{{ config }}", "only {name} placeholders"),
    ("{date.__class__}", "unknown variable"),
    ("../{date}", "'.' or '..'"),
    ("a b/{date}", "literal text"),
    ("{date}/x\n", "literal text"),
    ("year={year}&month={month}", "literal text may only contain letters, digits, '.', '_', '-', '=' and '/'"),
    ("year={{year}}", "only {name} placeholders"),
    ("={year}/../x", "'.' or '..'"),
    ("{apiKeyName}" * 8, "longer than 1024"),
])
def test_unsafe_templates_are_refused(template: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        parse_template(template)


@pytest.mark.parametrize("template", ["{prefix}.", "{prefix}..", "logs/{prefix}./{date}", "{prefix}/../x"])
def test_templates_that_put_a_dot_segment_next_to_an_empty_prefix_are_refused(template: str) -> None:
    with pytest.raises(TemplateError, match=re.escape("'.' or '..' segments")):
        parse_template(template, prefix="")


@pytest.mark.parametrize("prefix", ["prod/", "/prod", "a//b", "a/../b", "sp ace", "#x", "prod\n"])
def test_unsafe_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(TemplateError):
        parse_template("{prefix}/{date}", prefix=prefix)


def test_api_key_name_is_refused_in_batch_templates() -> None:
    with pytest.raises(TemplateError, match="apiKeyName"):
        parse_template("{prefix}/{apiKeyName}", allowed=BATCH_VARIABLES)


def test_object_keys_are_a_pure_function_of_trace_and_destination() -> None:
    template = parse_template("{prefix}/{date}/{apiKeyName}", prefix="prod")
    trace = {"id": "gen:1", "timestamp": 1705312800999, "model": "m", "api_key_name": "k 1"}
    assert object_key(template, trace) == "prod/2024-01-15/k_1/gen:1-1705312800.json"
    assert object_key(template, dict(trace)) == object_key(template, trace)
    assert object_key(parse_template("{prefix}/{date}"), {**trace, "timestamp": 0}) == "1970-01-01/gen:1-0.json"


@pytest.mark.parametrize("template", ["{prefix}/year={year}/month={month}/day={day}", "date={date}/hour={hour}"])
def test_hive_style_templates_are_accepted_for_batch_files(template: str) -> None:
    rendered = parse_template(template, prefix="batch", allowed=BATCH_VARIABLES).render(MOMENT)

    assert all(re.fullmatch(r"[a-z]+=[0-9-]+|batch", segment) for segment in rendered.split("/")), rendered
