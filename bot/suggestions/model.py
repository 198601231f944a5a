"""What a suggestion is: a change to the KB that the desk's traffic argues for, with its evidence.

A suggestion is worked out again from the stored conversations each time it is listed
(bot/suggestions/mine.py); only the decision on it is stored (bot/store/sql_suggestions.py). Its
id is a hash of what it suggests, so the same suggestion has the same id in the console, the CLI
and tomorrow's listing, and a rejected one is recognised when the traffic brings it back.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

QUESTION, NOTE, DRAFT = "question", "note", "draft"
KINDS = (QUESTION, NOTE, DRAFT)
# Where a suggestion comes from: the customer picked the article from the offered choices; an
# agent answered with it; the first answer was rated "not helpful" and this one then served; a
# group of questions nothing answered (the report's gaps); the bot answered with it on a close call
# and the customer said it helped.
PICKED, AGENT, BETTER, GAP, CONFIRMED = "picked", "agent", "better", "gap", "confirmed"
SOURCES = (PICKED, AGENT, BETTER, GAP, CONFIRMED)


@dataclass(frozen=True)
class Evidence:
    """One customer's question behind a suggestion."""

    conversation_id: str
    message_id: int  # the customer's question
    at: datetime  # when it was asked
    channel: str


@dataclass(frozen=True)
class Suggestion:
    id: str  # suggestion_id(kind, article_id, lang, text)
    kind: str  # QUESTION: add `text` to the article's questions; NOTE: the article did not help for `text`; DRAFT: a new article
    article_id: str | None  # None for a DRAFT
    lang: str  # the customers' language
    text: str  # the question, personal data removed; a DRAFT: its suggested title (the most central question)
    source: str  # one of SOURCES
    evidence: tuple[Evidence, ...]
    questions: tuple[str, ...] = ()  # a DRAFT: its questions (the title among them), personal data removed
    missing_language: bool = False  # the article has no version in `lang` (a QUESTION or NOTE)
    instead_of: str | None = None  # BETTER: the article that was rated "not helpful" first

    @property
    def count(self) -> int:
        """How many customers (conversations) asked it."""
        return len({e.conversation_id for e in self.evidence})

    @property
    def last_asked(self) -> datetime | None:
        return max((e.at for e in self.evidence), default=None)


def normalise(text: str) -> str:
    """The form two askings of one question share: NFKC, case-folded, punctuation and runs of space
    dropped ("How do I reset my password?" and "how do i reset my password" are one)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", folded)).strip()


def suggestion_id(kind: str, article_id: str | None, lang: str, text: str) -> str:
    """A short id that stays the same for the same suggestion."""
    key = "\x1f".join((kind, article_id or "", lang, normalise(text)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
