"""``GET /v1/destination-types``: every destination kind and its form, read from the kind's config model by
worker/forms.py, the same description the settings page renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder

from api.deps import Admin
from worker import kinds
from worker.destination import DestinationConfig
from worker.forms import form_fields

router = APIRouter(tags=["destinations"], dependencies=[Admin])


@router.get("/v1/destination-types")
def destination_types() -> dict[str, Any]:
    """``types``: each kind's ``type``, ``title``, ``summary`` (one line) and the fields it adds; ``shared_fields``:
    what every kind takes besides. A field says its ``name``, ``label``, ``input`` (text, number, checkbox, select,
    secret, lines, pairs), whether it is ``required`` and ``secret``, its ``default``, ``help``, ``choices`` and
    ``shown_when`` (the field applies only while another has one of some values)."""
    shared = [field for field in form_fields(DestinationConfig) if field.name != "type"]
    types = [{"type": name, "title": kind.config.TITLE or name, "summary": kind.config.SUMMARY,
              "fields": [field.described() for field in form_fields(kind.config, skip=DestinationConfig.model_fields)]}
             for name, kind in sorted(kinds.KINDS.items())]
    return jsonable_encoder({"types": types, "shared_fields": [field.described() for field in shared]})
