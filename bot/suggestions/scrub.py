"""Personal data taken out of a customer's words before anyone outside the conversation sees them.

A suggested question or draft is read by whoever edits the help center, and may end up in an
article: the customer's e-mail address, phone number, card or order number and private links
must not. Each is replaced by a placeholder that keeps the question readable:

  [link]    a URL that carries credentials (user:pass@), a query string (?token=..., ?order=...),
            a fragment with a value (#access_token=...), or a path segment that looks like a key:
            a UUID, 6+ digits, or a word of 10+ letters and digits with 3+ digits, or of 20+
            characters (base64, JWTs, reset tokens). A plain URL (https://example.com/help/returns)
            is kept: it names a page, not a person.
  [email]   an e-mail address.
  [phone]   a phone number, found by libphonenumber (`phonenumbers`): in international form (+90 ...,
            +1 ...) whatever the country, and in national form for the regions of the languages the
            bot ships phrases for (PHONE_REGIONS). A number it does not recognise mostly falls
            to [number] below.
  [number]  6 or more digits in a run, also split by single spaces, dashes or dots into groups of
            3 digits on average (9 digits or more however split): card numbers
            "4111 1111 1111 1111", order numbers "#12345678", IBANs "TR33 0006 1005 ..."; any
            script's digits (Arabic-Indic too). Dates (2024-11-02, 02.11.2024) and amounts with
            thousands separators (1.500.000) are left alone: they identify nobody.

Years, error codes and quantities ("2 items bought in 2024", "error 404") have too few digits to
be touched. Names and addresses are not found: no pattern tells them from ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import phonenumbers

LINK, EMAIL, PHONE, NUMBER = "[link]", "[email]", "[phone]", "[number]"
PLACEHOLDERS = (LINK, EMAIL, PHONE, NUMBER)
# None: only numbers written with a leading + (any country). Then the main countries of the
# languages the bot ships phrases for (bot/phrases: en, es, tr, ar), where customers write numbers
# in national form ("0532 123 45 67", "(415) 555-2671", "050 123 4567").
PHONE_REGIONS: tuple[str | None, ...] = (None, "US", "GB", "IE", "AU", "ES", "MX", "AR", "CO", "TR", "SA", "AE", "EG")
MIN_DIGITS = 6
_PHONE_MIN_DIGITS = 7  # the shortest national numbers; fewer digits are never looked at by libphonenumber

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_DIGITS = re.compile(r"#?\d(?:[ .\-]?\d){%d,}" % (MIN_DIGITS - 1))
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
_WORD_SPLIT = re.compile(r"[-_.~+,;=]+")
_TRAILING = ".,;:!?)]}'\"»”’"


def scrub(text: str, regions: Sequence[str | None] = PHONE_REGIONS) -> str:
    """The text with personal data replaced by [link], [email], [phone] and [number]."""
    return _scrub(text, regions, [])


def personal_data(text: str, regions: Sequence[str | None] = PHONE_REGIONS) -> list[str]:
    """What `scrub` takes out of the text, in the order it is found (links, e-mails, phones, numbers)."""
    found: list[str] = []
    _scrub(text, regions, found)
    return found


def nothing_left(text: str) -> bool:
    """True when a scrubbed text says nothing once its placeholders are gone: no letter remains."""
    rest = text
    for placeholder in PLACEHOLDERS:
        rest = rest.replace(placeholder, " ")
    return not any(c.isalpha() for c in rest)


def _scrub(text: str, regions: Sequence[str | None], found: list[str]) -> str:
    text = _URL.sub(lambda m: _link(m, found), text)
    text = _EMAIL.sub(lambda m: _take(m.group(0), EMAIL, found), text)
    text = _phones(text, regions, found)
    text = _IBAN.sub(lambda m: _take(m.group(0), NUMBER, found), text)
    return _DIGITS.sub(lambda m: _number(m.group(0), found), text)


def _take(value: str, placeholder: str, found: list[str]) -> str:
    found.append(value)
    return placeholder


def _link(match: re.Match[str], found: list[str]) -> str:
    url = match.group(0)
    kept = url.rstrip(_TRAILING)  # "see https://x.com/help." ends the sentence, not the URL
    if kept.count("(") < kept.count(")"):
        kept = kept[: kept.rindex(")")]
    tail = url[len(kept):]
    return (_take(kept, LINK, found) if private_link(kept) else kept) + tail


def private_link(url: str) -> bool:
    """Whether a URL carries something private: credentials, a query, a valued fragment, a key in its path."""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:  # an unparsable URL (a bad port, brackets): safer gone
        return True
    if has_credentials or parts.query or "=" in parts.fragment or "@" in parts.path:
        return True
    return any(_key_like(segment) for segment in unquote(parts.path).split("/") if segment)


def _key_like(segment: str) -> bool:
    if _UUID.search(segment) or re.search(r"\d{%d}" % MIN_DIGITS, segment):
        return True
    for word in _WORD_SPLIT.split(segment):
        digits = sum(c.isdigit() for c in word)
        if len(word) >= 20 or (len(word) >= 10 and digits >= 3 and len(word) - digits >= 2):
            return True
    return False


def _phones(text: str, regions: Sequence[str | None], found: list[str]) -> str:
    if sum(c.isdigit() for c in text) < _PHONE_MIN_DIGITS:
        return text
    spans: list[tuple[int, int]] = []
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            spans.append((match.start, match.end))
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [text[at:start], _take(text[start:end], PHONE, found)]
        at = end
    return "".join(out) + text[at:]


def _number(value: str, found: list[str]) -> str:
    bare = value.lstrip("#")
    digits, groups = sum(c.isdigit() for c in bare), len(re.split(r"[ .\-]", bare))
    # Dates and amounts name nobody; nor does a short list of small numbers ("sizes 38 40 42"),
    # but 9 digits or more are taken however split (a phone "0532 123 45 67" of another country).
    if _DATE.fullmatch(bare) or _AMOUNT.fullmatch(bare) or (digits < 9 and digits < 3 * groups):
        return value
    return _take(value, NUMBER, found)
