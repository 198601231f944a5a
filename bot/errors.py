"""The project's errors: one root, a few kinds, data as attributes.

The root and the errors of the KB and the index are defined in `index.errors` (the layer below);
they are the same classes here.
"""

from __future__ import annotations

from index.errors import AnswerdeskError, ConfigError, KBEditError, KBError, KBErrors, SearchIndexError

__all__ = ["AnswerdeskError", "ConfigError", "KBEditError", "KBError", "KBErrors", "SearchIndexError", "StorageError"]


class StorageError(AnswerdeskError):
    """The conversation store cannot be read or written."""
