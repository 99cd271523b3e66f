"""Readers that turn annotation files into spaCy Docs: one module per format (CoNLL-U, IOB columns, span JSON,
plain text), formats.py to detect and dispatch, tags.py for entity tag schemes."""
