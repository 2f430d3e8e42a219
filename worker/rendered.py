"""What a destination's writer sends for one trace, as the preview answers it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """What a destination's writer would send for one trace: its body, and its object key where it has one."""

    content_type: str
    body: bytes
    key: str | None = None

    def answer(self) -> dict[str, Any]:
        try:
            text, encoding = self.body.decode(), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(self.body).decode(), "base64"
        found: dict[str, Any] = {"content_type": self.content_type, "encoding": encoding, "body": text}
        if self.key is not None:
            found["key"] = self.key
        return found
