"""What every channel checks in a payload from outside before it parses or stores it.

The web API, Slack and Telegram all take JSON from the internet. Python's JSON parser recurses,
so a body nested thousands deep can overflow near the interpreter's limit: `too_deep` finds that
by counting brackets, without parsing. JSON may also carry a lone surrogate ("\\ud800"), which
parses into a str no UTF-8 can carry: `SURROGATE` finds one, `without_surrogates` replaces each
with U+FFFD. Each channel decides what to do (the web API refuses naming the field; Slack and
Telegram, which would only resend, replace).
"""

from __future__ import annotations

import re
from typing import Any

SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings (skipped whole) and brackets


def too_deep(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, found without parsing it."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        if token.group() in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token.group() in ("]", "}"):
            depth -= 1
    return False


def without_surrogates(value: Any) -> Any:
    """`value` (str, or JSON data holding them) with every lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    return value
