"""Redaction: personal data and secrets replaced, and fields dropped, in what one destination receives
(docs/rules-and-redaction.md). ``config`` is what the admin API takes, ``detectors`` finds values in text,
``redact`` applies a destination's redaction to a stored trace, and ``outgoing`` is the one place every writer's
traces pass through."""
