"""Properties of path templates over generated input: refused when unsafe; bounded, confined, stable when rendered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.errors import TemplateError
from worker.kinds.s3.writer import object_key
from worker.paths import MAX_KEY_BYTES, TRACE_VARIABLES, parse_template

literal = st.text(alphabet="abcXYZ019._-/=", max_size=40)
variable = st.sampled_from(sorted(TRACE_VARIABLES)).map(lambda name: "{" + name + "}")
templates = st.lists(st.one_of(literal, variable), min_size=1, max_size=6).map("".join)
prefixes = st.lists(st.text(alphabet="abc019_-.", min_size=1, max_size=60), max_size=5).map("/".join)
hostile = st.text(max_size=2048)
trace_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)
timestamps = st.integers(min_value=0, max_value=253402300799000)


@settings(max_examples=500, deadline=None)
@given(templates, prefixes, hostile, timestamps, trace_ids)
def test_every_key_is_bounded_confined_and_stable(template: str, prefix: str, api_key_name: str, ts: int,
                                                  trace_id: str) -> None:
    try:
        parsed = parse_template(template, prefix=prefix)
    except TemplateError:
        return  # refused when the destination is saved: never rendered
    trace = {"id": trace_id, "timestamp": ts, "model": "m", "api_key_name": api_key_name}
    key = object_key(parsed, trace)
    assert len(key.encode()) <= MAX_KEY_BYTES
    static = parsed.static_part
    assert not static or key.startswith(static + "/"), (key, static)
    if template.startswith("{prefix}/") and prefix:
        assert key.startswith(prefix + "/")
    assert all(segment not in ("", ".", "..") for segment in key.split("/"))
    assert key.isascii() and key.isprintable()
    assert key.endswith(f"/{trace_id}-{ts // 1000}.json") or key == f"{trace_id}-{ts // 1000}.json"
    assert object_key(parse_template(template, prefix=prefix), dict(trace)) == key


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_template_is_refused_or_plain_placeholders(template: str) -> None:
    try:
        parsed = parse_template(template)
    except TemplateError:
        return
    assert all(name in TRACE_VARIABLES for name in parsed.variables)
    stripped = template
    for name in parsed.variables:
        stripped = stripped.replace("{" + name + "}", "", 1)
    assert set(stripped) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/=")


@pytest.mark.parametrize("template", ["{{ prefix }}", "{% for x in y %}{% endfor %}", "{prefix|upper}",
                                      "{prefix.__class__}", "{ date }", "{date}{", "}", "{#x#}", "${date}"])
def test_template_syntax_beyond_name_is_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)
