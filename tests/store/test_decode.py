"""Stored documents are read back with orjson, and with the standard module where orjson
declines: the result is the same either way."""

from __future__ import annotations

import json

from awe.store.rules import decode_doc, encode_doc


def test_a_stored_document_reads_back_as_json_would_read_it() -> None:
    doc = {"id": "j", "info": {"name": "é ✓", "priority": 3, "ratio": 0.1}, "tasks": [None, True]}
    text = encode_doc(doc, "job j")
    assert decode_doc(text) == json.loads(text) == doc


def test_an_integer_past_64_bits_still_reads_back() -> None:
    doc = {"id": "j", "userattr": {"big": 2**70, "small": -(2**65)}}
    assert decode_doc(encode_doc(doc, "job j")) == doc
