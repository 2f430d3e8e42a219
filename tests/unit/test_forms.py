"""A kind's form is read from its config model: labels, help, inputs, secrets, choices and modes come from the
fields, so the page's template and script name no kind and a new kind renders with no HTML or JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from api.page.routes import form_context, templates
from worker.destination import DestinationConfig
from worker.forms import FormField, Preview, ShownWhen, form_fields
from worker.kinds import KINDS
from worker.kinds.s3.preview import SAMPLE_TRACE

PAGE = Path(__file__).parents[2] / "api" / "page"
SHARED = set(DestinationConfig.model_fields)


def described(name: str) -> dict[str, FormField]:
    return {field.name: field for field in form_fields(KINDS[name].config, skip=SHARED)}


def test_the_s3_form_lists_its_fields_secrets_and_batch_mode() -> None:
    form = described("s3")

    assert [(f.name, f.label, f.input) for f in form.values()] == [
        ("bucket_name", "Bucket Name", "text"), ("region", "Region", "text"),
        ("endpoint", "Custom Endpoint", "text"), ("access_key_id", "Access Key Id", "text"),
        ("access_secret", "Secret Access Key", "secret"), ("session_token", "Session Token", "secret"),
        ("prefix", "Prefix", "text"), ("path_template", "Path Template", "text"), ("mode", "Mode", "select"),
        ("every", "Every", "number"), ("limit", "Limit", "number"), ("format", "Format", "select")]
    assert {name for name, f in form.items() if f.shown_when == ShownWhen("mode", ("batch",))} == \
        {"every", "limit", "format"}
    assert form["mode"].choices == ("per_trace", "batch")
    assert form["format"].choices == ("cbor.zstd", "jsonl.gz", "parquet")
    # what an empty input sends: null where the field takes None, "" where that is the default, else nothing
    assert {name: f.empty for name, f in form.items() if f.empty != "omit"} == \
        {"region": "null", "endpoint": "null", "prefix": "blank"}
    assert form["path_template"].shown({}) == "{prefix}/{date}"


def test_the_webhook_form_lists_its_fields_secrets_and_header_lines() -> None:
    form = described("webhook")

    assert [(f.name, f.label, f.input) for f in form.values()] == [
        ("url", "URL", "text"), ("method", "Method", "select"), ("format", "Body Format", "select"),
        ("conventions", "Conventions", "select"), ("batch_size", "Batch Size", "number"),
        ("headers", "Headers", "pairs"), ("signing_secret", "Signing Secret", "secret")]
    assert {name for name, f in form.items() if f.shown_when is not None} == {"conventions"}
    assert form["conventions"].shown_when == ShownWhen("format", ("otlp_json", "otlp_proto"))
    assert form["conventions"].choices == ("genai", "langfuse", "openinference")
    assert form["conventions"].default == "genai"
    assert form["format"].choices == ("otlp_json", "otlp_proto", "json")
    assert form["headers"].secret_values and "leave it so (or empty) to keep it" in form["headers"].help
    # editing: header values and secrets never reach the page
    saved = {"headers": {"Authorization": "********", "X-Team": "********"}, "signing_secret": "********"}
    assert form["headers"].shown(saved) == "Authorization: ********\nX-Team: ********"
    assert form["signing_secret"].shown(saved) == ""


def test_the_shared_fields_and_every_kind_have_labels_and_secrets_as_secret_inputs() -> None:
    shared = {f.name: f for f in form_fields(DestinationConfig)}
    assert [(f.label, f.input) for f in shared.values()] == [
        ("Name", "text"), ("Type", "text"), ("Privacy Mode", "checkbox"), ("Enabled", "checkbox"),
        ("Sampling Rate", "number"), ("Gateway API Key Names", "lines"),
        ("Excluded Gateway API Key Names", "lines"), ("Filter Rules", "json"), ("Redaction", "json")]
    assert (shared["api_key_names"].empty, shared["exclude_api_key_names"].empty) == ("null", "blank")
    assert shared["api_key_names"].shown({"api_key_names": ["prod", "batch"]}) == "prod\nbatch"
    for kind in KINDS.values():
        inputs = {f.name: f.input for f in form_fields(kind.config)}
        assert {name for name, given in inputs.items() if given == "secret"} == set(kind.config.SECRETS)
        assert kind.config.TITLE


def test_the_s3_preview_says_what_the_sample_trace_is() -> None:
    preview = KINDS["s3"].config.PREVIEW
    assert preview is not None and preview.element == "key-preview"
    assert SAMPLE_TRACE["timestamp"] == 1_705_312_800_000  # 2024-01-15 10:00 UTC
    assert f"key name '{SAMPLE_TRACE['api_key_name']}'" in preview.says and "2024-01-15 10:00 UTC" in preview.says
    assert set(preview.inputs) <= set(KINDS["s3"].config.model_fields)


class PigeonConfig(DestinationConfig):
    """A throwaway kind, known only to this test."""

    TITLE: ClassVar[str] = "Carrier Pigeon"
    SECRETS: ClassVar[tuple[str, ...]] = ("ring_code",)
    PREVIEW: ClassVar[Preview | None] = Preview(element="flight-preview", path="preview-flight", inputs=("loft",),
                                                says="Flies to ", shows="route", after="loft")

    type: Literal["pigeon"] = "pigeon"
    loft: str = Field(title="Loft", description="Where the pigeon lives.")
    ring_code: SecretStr = Field(title="Ring Code")
    speed: Literal["steady", "fast"] = Field(default="steady", title="Speed")
    tailwind: Annotated[float, Field(title="Tailwind"), ShownWhen("speed", ("fast",))] = 0.5
    rest_stops: list[str] = Field(default_factory=list, title="Rest Stops")


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data.strip())

    def one(self, **wanted: str) -> dict[str, str | None]:
        matches = [attrs for _, attrs in self.found if all(attrs.get(k) == v for k, v in wanted.items())]
        assert len(matches) == 1, (wanted, matches)
        return matches[0]


def rendered(configs: dict[str, Any], destination: dict[str, Any] | None = None) -> Elements:
    html = templates.env.get_template("form.html").render(csrf="c", workspace="w",
                                                          **form_context(configs, destination))
    elements = Elements()
    elements.feed(html)
    return elements


def test_a_new_kind_renders_into_the_form_with_no_template_or_script_change() -> None:
    # Given a kind the page has never heard of, offered next to S3
    page = rendered({"pigeon": PigeonConfig, "s3": KINDS["s3"].config})

    # Then it has its own fieldset, its inputs follow its fields, and the type select offers it first
    assert page.one(**{"data-kind": "pigeon"})
    assert "Carrier Pigeon" in page.text and "Where the pigeon lives." in page.text
    assert page.one(id="f-pigeon-loft")["data-empty"] == "omit"
    assert page.one(id="f-pigeon-ring_code")["data-type"] == "secret"
    assert page.one(id="f-pigeon-speed")["data-type"] == "select"
    assert page.one(id="f-pigeon-tailwind")["data-type"] == "number"
    assert page.one(id="f-pigeon-rest_stops")["data-type"] == "lines"
    assert page.one(**{"data-field": "tailwind"})["data-when-values"] == "fast"
    assert page.one(id="flight-preview")["data-inputs"] == "loft"
    card = page.one(value="pigeon")  # its card in the catalogue of kinds, by its title and summary
    assert card["type"] == "radio" and card["data-name"] == "type" and card["aria-describedby"] == "summary-pigeon"
    assert "Carrier Pigeon" in page.text
    labels = {attrs["for"] for tag, attrs in page.found if tag == "label" and attrs.get("for")}
    assert {"f-pigeon-loft", "f-s3-bucket_name", "f-s3-format", "f-sampling_rate"} <= labels

    # And editing one shows its stored values, never its secret
    edit = rendered({"pigeon": PigeonConfig}, {"name": "p", "type": "pigeon", "loft": "attic",
                                                "ring_code": "********", "speed": "fast", "rest_stops": ["a"]})
    assert edit.one(id="f-pigeon-loft")["value"] == "attic"
    assert edit.one(id="f-pigeon-ring_code")["placeholder"] == "stored"
    assert "selected" in edit.one(value="fast")


def test_the_page_names_no_kind_and_no_kind_field() -> None:
    script = (PAGE / "static" / "app.js").read_text()
    template = (PAGE / "templates" / "form.html").read_text().replace('type="password"', "")  # HTML's input type
    own = {name for kind in KINDS.values() for name in kind.config.model_fields} - SHARED
    for word in [*KINDS, *own, "body_format", "preview-key"]:
        assert not re.search(rf"\b{re.escape(word)}\b", template), word
        if "_" in word or word in KINDS or "-" in word:
            assert not re.search(rf"\b{re.escape(word)}\b", script), word
