"""The bounded parser of websocket text messages: size in UTF-8 bytes first, then nesting
depth by a scan outside strings, then strict JSON; never a RecursionError."""

import json

import pytest

from saekdam_web.messages import (
    MAX_JSON_DEPTH,
    InvalidMessage,
    check_json_message,
    json_depth,
    parse_json_message,
)

LIMIT = 64 * 1024


def code_of(text: str, max_bytes: int = LIMIT, max_depth: int = MAX_JSON_DEPTH) -> str:
    with pytest.raises(InvalidMessage) as refused:
        parse_json_message(text, max_bytes, max_depth)
    frame = refused.value.frame()
    assert frame["type"] == "error" and frame["error"]["message"]
    assert frame["error"]["code"] == refused.value.code
    return refused.value.code


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 5000 + "1" + "}" * 5000,
        "[" * 30_000,  # unbalanced, and far past the interpreter's recursion limit
        '{"type": "ping", "x": ' + "[" * 33 + "]" * 33 + "}",
    ],
    ids=["arrays", "objects", "unbalanced", "nested inside a frame"],
)
def test_deep_nesting_is_refused_before_parsing(text):
    assert code_of(text) == "message_too_deep"


def test_the_depth_limit_itself_is_fine():
    assert parse_json_message("[" * 32 + "]" * 32, LIMIT) == json.loads("[" * 32 + "]" * 32)
    assert code_of("[" * 4 + "]" * 4, max_depth=3) == "message_too_deep"


@pytest.mark.parametrize(
    "value",
    [
        {"type": "ping", "x": "[[[[{{{{" * 1000},
        {"s": 'quote \\" and [ brackets ] inside', "t": "\\\\", "u": "\\"},
        {"escaped quote then brackets": '"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["'},
        ["a", {"b": [1, 2.5, None, True, "c]"]}],
    ],
)
def test_brackets_inside_strings_do_not_count(value):
    assert parse_json_message(json.dumps(value), LIMIT) == value


def test_depth_counts_arrays_and_objects():
    assert json_depth('{"a": [1, {"b": [[]]}]}') == 5
    assert json_depth('"just a string"') == json_depth("12") == 0


def test_size_is_counted_in_utf8_bytes():
    text = json.dumps({"s": "é" * 100}, ensure_ascii=False)  # 2 bytes a character
    assert len(text) < 150 < len(text.encode())
    assert code_of(text, max_bytes=150) == "message_too_large"
    assert parse_json_message(text, len(text.encode())) == {"s": "é" * 100}
    assert code_of("1" * 11, max_bytes=10) == "message_too_large"
    check_json_message("1" * 10, 10)


@pytest.mark.parametrize(
    "text", ["", "{not json", '{"a": 1', '"unterminated', "[1, 2,]", "NaN", '{"x": Infinity}']
)
def test_invalid_json_is_refused(text):
    assert code_of(text) == "invalid_json"


def test_a_large_flat_message_parses():
    text = json.dumps({"type": "ping", "xs": [[i, str(i)] for i in range(4000)]})
    assert len(text) < LIMIT
    assert parse_json_message(text, LIMIT)["xs"][-1] == [3999, "3999"]
