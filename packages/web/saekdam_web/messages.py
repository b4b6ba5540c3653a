"""Websocket text messages, parsed with bounds: size first, then nesting depth, then JSON.

`json.loads` recurses once per level of nesting, so a few kB of `[[[[…` raise RecursionError
(nothing a handler expects: the socket dies 1006). Here the depth is found first by a scan
of the brackets outside strings, in C-speed steps (regexes, `accumulate`), and nothing
deeper than `max_depth` is parsed at all; every way a message is refused is one
`InvalidMessage` with a wire code.
"""

import json
import re
from itertools import accumulate
from typing import Any

# Clients send flat frames (landmark JSON is 3 levels deep): anything near this is an attack.
MAX_JSON_DEPTH = 32

# A JSON string, escapes included: `"` then runs of plain characters and escape pairs.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class InvalidMessage(ValueError):
    """A text message refused before (or while) parsing; `code` goes on the wire."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def frame(self) -> dict:
        """The error frame both services send for it."""
        return {"type": "error", "error": {"code": self.code, "message": self.message}}


def _utf8_size_over(text: str, max_bytes: int) -> bool:
    if len(text) > max_bytes:  # at least a byte a character
        return True
    if len(text) * 4 <= max_bytes:  # at most four
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of `text` nest (brackets inside strings do not
    count). Raises InvalidMessage("invalid_json") for a string that never ends."""
    outside = _STRING.sub("", text)
    if '"' in outside:  # every quote of valid JSON belongs to a string
        raise InvalidMessage("invalid_json", "a text message must be valid JSON")
    brackets = _NOT_A_BRACKET.sub("", outside)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json_message(text: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise InvalidMessage unless `text` is at most `max_bytes` of UTF-8 and nests at most
    `max_depth` levels; for a caller whose own parser (pydantic) does the parsing."""
    if _utf8_size_over(text, max_bytes):
        raise InvalidMessage(
            "message_too_large", f"a text message may be at most {max_bytes} bytes"
        )
    if json_depth(text) > max_depth:
        raise InvalidMessage(
            "message_too_deep", f"a text message may nest at most {max_depth} levels"
        )


def parse_json_message(text: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`text` as JSON (strict: no NaN or Infinity), within `max_bytes` and `max_depth`;
    InvalidMessage (message_too_large, message_too_deep or invalid_json) otherwise."""
    check_json_message(text, max_bytes, max_depth)
    try:
        return json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:  # RecursionError: cannot happen past the scan
        raise InvalidMessage("invalid_json", "a text message must be valid JSON") from exc
