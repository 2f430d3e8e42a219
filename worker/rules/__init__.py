"""Filter rules: which traces a destination takes, decided at ingest (docs/rules-and-redaction.md).

``config`` is what the admin API takes (``FilterRules``), ``fields`` reads a rule's field from a stored trace, and
``match`` compiles the rules once into a ``Filter`` that decides a trace."""
