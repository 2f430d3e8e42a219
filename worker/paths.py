"""Path templates: parsed and confined when a destination is saved, rendered per trace.

A template is literal text and ``{name}`` placeholders, nothing else. Literal text may hold ``=``, so Hive-style
``key=value`` folders (``year={year}/month={month}``) can be asked for; values never hold it (``key_safe``). The
parsed template is compiled into a Jinja2 sandboxed template that *we* generate: literal text and values are passed
in as data, so nothing a user writes is ever evaluated as template code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from worker.errors import TemplateError

TRACE_VARIABLES = frozenset({"prefix", "date", "year", "month", "day", "hour", "apiKeyName"})
BATCH_VARIABLES = TRACE_VARIABLES - {"apiKeyName"}
MAX_KEY_BYTES = 1024
MAX_VALUE_BYTES = 128
MAX_FILENAME_BYTES = 160
_VALUE_BYTES = {"date": 10, "year": 4, "month": 2, "day": 2, "hour": 2, "apiKeyName": MAX_VALUE_BYTES}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LITERAL = re.compile(r"^[A-Za-z0-9._/-]*$")
_TEMPLATE_LITERAL = re.compile(r"^[A-Za-z0-9._/=-]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def key_safe(value: str) -> str:
    """Make one rendered value safe inside a key: one segment, no traversal, bounded length."""
    safe = _UNSAFE.sub("_", value)[:MAX_VALUE_BYTES]
    return "_" if safe in (".", "..") else safe


def validate_prefix(prefix: str) -> str:
    if prefix.endswith("/"):
        raise TemplateError("prefix must not end with '/'")
    if prefix.startswith("/"):
        raise TemplateError("prefix must not start with '/'")
    if not _LITERAL.fullmatch(prefix):
        raise TemplateError("prefix may only contain letters, digits, '.', '_', '-' and '/'")
    if prefix and any(segment in ("", ".", "..") for segment in prefix.split("/")):
        raise TemplateError("prefix must not contain empty, '.' or '..' segments")
    if len(prefix) > 256:
        raise TemplateError("prefix must be at most 256 characters")
    return prefix


@dataclass(frozen=True)
class PathTemplate:
    """A validated template bound to its destination's prefix."""

    source: str
    prefix: str
    variables: tuple[str, ...]
    static_part: str

    def render(self, values: Mapping[str, str]) -> str:
        """The rendered path (no leading or trailing '/'), empty segments dropped."""
        safe = {name: key_safe(values.get(name, "")) for name in self.variables if name != "prefix"}
        safe["prefix"] = self.prefix
        template, parts = _compiled(self.source)
        raw = template.render(v=safe, **parts)
        segments = ["_" if s in (".", "..") else s for s in raw.split("/") if s]
        path = "/".join(segments)
        if not path.startswith(self.static_part):
            raise TemplateError(f"rendered path {path!r} escapes its static part {self.static_part!r}")
        return path


def parse_template(source: str, *, prefix: str = "", allowed: frozenset[str] = TRACE_VARIABLES) -> PathTemplate:
    """Validate a template; raise TemplateError naming what is refused."""
    validate_prefix(prefix)
    if any(segment in (".", "..") for segment in source.replace("{prefix}", prefix).split("/")):
        raise TemplateError("template must not contain '.' or '..' segments (with the prefix in place)")
    variables: list[str] = []
    literal_bytes = 0
    position = 0
    for match in _PLACEHOLDER.finditer(source):
        literal_bytes += _check_literal(source[position : match.start()])
        name = match.group(1)
        if name not in allowed:
            known = ", ".join("{" + v + "}" for v in sorted(allowed))
            raise TemplateError(f"unknown variable {{{name}}} (known: {known})")
        variables.append(name)
        position = match.end()
    literal_bytes += _check_literal(source[position:])
    worst = literal_bytes + sum(len(prefix) if v == "prefix" else _VALUE_BYTES[v] for v in variables)
    if worst + 1 + MAX_FILENAME_BYTES > MAX_KEY_BYTES:
        raise TemplateError(f"template can render keys longer than {MAX_KEY_BYTES} bytes")
    return PathTemplate(
        source=source, prefix=prefix, variables=tuple(variables), static_part=_static_part(source, prefix)
    )


def _static_part(source: str, prefix: str) -> str:
    """The whole segments of literal text before the first per-trace variable, with the prefix in place."""
    static = ""
    position = 0
    for match in _PLACEHOLDER.finditer(source):
        static += source[position : match.start()]
        if match.group(1) != "prefix":
            break
        static += prefix
        position = match.end()
    else:
        static += source[position:] + "/"
    whole_segments = static.rsplit("/", 1)[0] if "/" in static else ""
    return "/".join(segment for segment in whole_segments.split("/") if segment)



def _check_literal(text: str) -> int:
    if "{" in text or "}" in text:
        raise TemplateError("only {name} placeholders are allowed: no other braces or template syntax")
    if not _TEMPLATE_LITERAL.fullmatch(text):
        raise TemplateError("literal text may only contain letters, digits, '.', '_', '-', '=' and '/'")
    return len(text)


@lru_cache(maxsize=256)
def _compiled(source: str) -> tuple[Template, dict[str, tuple[str, ...]]]:
    """A Jinja2 template generated from the parsed parts; user text is passed to it only as data."""
    names = tuple(match.group(1) for match in _PLACEHOLDER.finditer(source))
    literals = tuple(_PLACEHOLDER.split(source)[::2])
    body = "".join(f"{{{{ literal[{i}] }}}}{{{{ v[variable[{i}]] }}}}" for i in range(len(names)))
    body += f"{{{{ literal[{len(names)}] }}}}"
    return _ENV.from_string(body), {"literal": literals, "variable": names}


def time_values(epoch_ms: int) -> dict[str, str]:
    """The date variables of a moment, in UTC."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return {
        "date": moment.strftime("%Y-%m-%d"),
        "year": moment.strftime("%Y"),
        "month": moment.strftime("%m"),
        "day": moment.strftime("%d"),
        "hour": moment.strftime("%H"),
    }
