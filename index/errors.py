"""The project's error root, and the errors of loading and editing a KB, building and searching an index.

They live here, in the lowest layer, so that `index/` needs nothing of `bot/`; `bot.errors`
adds the rest and re-exports these, so the rest of the code names them from there.
"""

from __future__ import annotations


class AnswerdeskError(Exception):
    """Root of every error Answerdesk raises on purpose."""


class ConfigError(AnswerdeskError):
    """A setting has a value that cannot be used."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"Config '{name}' has value {value!r}. {allowed}")


class KBError(AnswerdeskError):
    """An article in the knowledge base cannot be loaded."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = f"{path}:{line}" if line else path
        if field:
            where += f" [{field}]"
        super().__init__(f"{where}: {message}")


class KBEditError(KBError):
    """An article cannot be changed as asked (`index/kb_edit.py`); nothing was written."""


class KBErrors(AnswerdeskError):
    """Every problem found in a knowledge base, reported together."""

    def __init__(self, errors: list[KBError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{len(errors)} problem(s) in the knowledge base:\n{lines}")


class SearchIndexError(AnswerdeskError):
    """The search index is missing, incomplete or built with another encoder."""
