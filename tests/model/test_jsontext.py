"""Users' JSON: depth, integer range and NaN are refused before anything holds the document."""

from __future__ import annotations

import pytest

from awe.model.jsontext import INT64_MAX, INT64_MIN, MAX_DEPTH, JsonTextError, depth, loads


def test_ordinary_json_is_read_as_json() -> None:
    text = '{"a": [1, 2.5, "x", null, true, {"b": []}], "c": -3}'
    assert loads(text) == {"a": [1, 2.5, "x", None, True, {"b": []}], "c": -3}
    assert loads(b'{"utf8": "\\u00fc\xc3\xbc"}') == {"utf8": "üü"}


def test_nesting_up_to_the_limit_passes_and_one_more_is_refused() -> None:
    assert depth(loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)) == MAX_DEPTH
    with pytest.raises(JsonTextError, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_nesting_far_past_the_recursion_limit_is_refused_not_crashed() -> None:
    with pytest.raises(JsonTextError, match="nested deeper"):
        loads('{"a":' * 200_000 + "1" + "}" * 200_000)


def test_depth_is_measured_without_recursion() -> None:
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert depth(value) == 100_001
    assert depth(3) == 0


@pytest.mark.parametrize("number", [INT64_MAX, INT64_MIN, 0])
def test_integers_a_store_can_hold_pass(number: int) -> None:
    assert loads(str(number)) == number


@pytest.mark.parametrize(
    "text", [str(INT64_MAX + 1), str(INT64_MIN - 1), "1" * 5000, "1e999", "-1e999"]
)
def test_numbers_no_store_can_hold_are_refused(text: str) -> None:
    with pytest.raises(JsonTextError, match="out of range|digits"):
        loads(f"[{text}]")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    with pytest.raises(JsonTextError, match="is not a JSON value"):
        loads(f'{{"x": {text}}}')


@pytest.mark.parametrize("raw", [b"\xff\xfe{", b"{", b"", b"[1,]", b'{"a" 1}'])
def test_what_is_not_json_is_a_json_text_error(raw: bytes) -> None:
    with pytest.raises(JsonTextError):
        loads(raw)
