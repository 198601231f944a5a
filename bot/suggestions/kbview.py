"""What the suggestions need to know of the KB folder as it is now: which articles and language
versions exist, their titles, and the questions they already list (normalised)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.suggestions.model import normalise

if TYPE_CHECKING:
    from index.kb import KnowledgeBase


@dataclass(frozen=True)
class Version:
    title: str
    questions: frozenset[str]  # normalised (bot.suggestions.model.normalise), the title among them


@dataclass(frozen=True)
class KBView:
    versions: Mapping[str, Mapping[str, Version]] = field(default_factory=dict)  # article id -> language -> version

    @classmethod
    def from_kb(cls, kb: "KnowledgeBase") -> "KBView":
        """The view of a loaded KB (index.kb.load_kb)."""
        versions: dict[str, dict[str, Version]] = {}
        for a in kb.articles:
            asked = frozenset(normalise(q) for q in (a.title, *a.questions)) - {""}
            versions.setdefault(a.id, {})[a.lang] = Version(a.title, asked)
        return cls(versions)

    def has(self, article_id: str) -> bool:
        """Whether the article exists in any language."""
        return article_id in self.versions

    def languages(self, article_id: str) -> frozenset[str]:
        """The languages the article has a version in (empty when it does not exist)."""
        return frozenset(self.versions.get(article_id, {}))

    def title(self, article_id: str, lang: str) -> str | None:
        """The title of the article's version in `lang`, None without one."""
        version = self.versions.get(article_id, {}).get(lang)
        return version.title if version else None

    def questions(self, article_id: str, lang: str) -> frozenset[str]:
        """The version's questions and title, normalised; empty without that version."""
        version = self.versions.get(article_id, {}).get(lang)
        return version.questions if version else frozenset()
