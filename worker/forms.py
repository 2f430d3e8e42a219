"""A destination kind's form, read from its config model: the settings page renders what ``form_fields`` gives, so
a new kind adds no HTML or JavaScript.

Each field of the model is one form field. Its label is the field's ``title`` (else its name, humanized), its help
the field's ``description`` followed by how to fill the input in. The input follows from the field's type:

- a name in the model's ``SECRETS``: ``secret`` (never shown; left empty, the saved value is kept)
- ``bool``: ``checkbox``; ``int`` or ``float``: ``number``; ``Literal[...]``: ``select`` of those choices
- ``list``: ``lines`` (one item a line); ``dict``: ``pairs`` (one ``Name: value`` a line; ``SecretStr`` values are
  never shown, and one left empty keeps the saved value)
- a pydantic model (filter rules, redaction): ``json`` (the value as JSON)
- anything else: ``text``

An empty input sends ``null`` where the field takes ``None``, the empty value where that is the default, and is left
out otherwise (so the default applies, or a PATCH keeps what is saved). ``ShownWhen`` in a field's ``Annotated``
metadata shows the field only while another field of the same form has one of some values; a field not shown is not
sent. A model's ``PREVIEW`` (a ``Preview``) is a line the page keeps up to date while the fields it names change.
"""

from __future__ import annotations

import json
import types
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

Input = Literal["text", "number", "checkbox", "select", "secret", "lines", "pairs", "json"]
Empty = Literal["null", "blank", "omit"]
HINTS = {"lines": "One a line.", "pairs": "One 'Name: value' a line.", "json": "As JSON."}
MASK = "********"
"""What the API answers in place of a stored secret, and takes back as "keep the stored one"."""
KEPT = f"A stored value shows as {MASK}: leave it so (or empty) to keep it."


@dataclass(frozen=True)
class ShownWhen:
    """Field metadata: the field applies only while the form's ``field`` has one of ``values``."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """A line under a kind's form: the form's ``inputs`` are posted to the admin API's ``destinations/<path>``, and
    the line shows ``says`` followed by the answer's ``shows``. ``element`` is the line's id, ``after`` the field it
    follows."""

    element: str
    path: str
    inputs: tuple[str, ...]
    says: str
    shows: str
    after: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    input: Input
    help: str
    default: Any
    empty: Empty
    choices: tuple[str, ...] = ()
    shown_when: ShownWhen | None = None
    secret_values: bool = False
    required: bool = False

    def described(self) -> dict[str, Any]:
        """The field as ``GET /v1/destination-types`` lists it (plain data)."""
        return {"name": self.name, "label": self.label, "input": self.input, "required": self.required,
                "secret": self.input == "secret" or self.secret_values, "default": self.default, "help": self.help,
                "choices": list(self.choices),
                "shown_when": None if self.shown_when is None else
                {"field": self.shown_when.field, "values": list(self.shown_when.values)}}

    def shown(self, saved: Mapping[str, Any]) -> Any:
        """What the input shows for the ``saved`` destination's answer (``{}`` for a new one): a secret shows
        nothing, a checkbox whether it is checked, any other input its text."""
        value = saved.get(self.name, self.default)
        if self.input == "secret":
            return ""
        if self.input == "checkbox":
            return bool(value)
        if self.input == "lines":
            return "\n".join(value or [])
        if self.input == "json":
            return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
        if self.input == "pairs":
            pairs = (value or {}).items()
            return "\n".join(f"{name}: {MASK if self.secret_values else given}" for name, given in pairs)
        return "" if value is None else str(value)


def _unwrapped(annotation: Any) -> tuple[Any, bool]:
    """The type under ``Annotated`` and ``| None``, and whether ``None`` is allowed."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        others = [arg for arg in get_args(annotation) if arg is not type(None)]
        inner, _ = _unwrapped(others[0]) if len(others) == 1 else (annotation, False)
        return inner, True
    return annotation, False


def _input(name: str, kind: Any, secrets: Collection[str]) -> Input:
    origin = get_origin(kind)
    if name in secrets:
        return "secret"
    if kind is bool:
        return "checkbox"
    if kind in (int, float):
        return "number"
    if origin is Literal:
        return "select"
    if kind is list or origin is list:
        return "lines"
    if kind is dict or origin is dict:
        return "pairs"
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return "json"
    return "text"


def _default(info: FieldInfo) -> Any:
    return None if info.is_required() else info.get_default(call_default_factory=True)


def form_field(name: str, info: FieldInfo, *, secrets: Collection[str] = ()) -> FormField:
    """The form of one field; ``secrets`` are the model's ``SECRETS``."""
    kind, optional = _unwrapped(info.annotation)
    field_input = _input(name, kind, secrets)
    default = _default(info)
    secret_values = field_input == "pairs" and get_args(kind)[1:] == (SecretStr,)
    hint = " ".join(filter(None, [HINTS.get(field_input), KEPT if secret_values else ""]))
    empty: Empty = "null" if optional else "blank" if default in ("", [], {}) else "omit"
    return FormField(
        name=name, label=info.title or name.replace("_", " ").title(), input=field_input,
        help=" ".join(filter(None, [info.description, hint])), default=default,
        empty="omit" if field_input == "secret" else empty,
        choices=tuple(str(choice) for choice in get_args(kind)) if field_input == "select" else (),
        shown_when=next((m for m in info.metadata if isinstance(m, ShownWhen)), None), secret_values=secret_values,
        required=info.is_required())


def form_fields(model: type[BaseModel], *, skip: Collection[str] = ()) -> list[FormField]:
    """The form of ``model``'s fields, in their order, but those in ``skip``."""
    secrets = getattr(model, "SECRETS", ())
    return [form_field(name, info, secrets=secrets) for name, info in model.model_fields.items() if name not in skip]
