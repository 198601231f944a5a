"""The help center learns from the desk: questions customers asked, as the article that answered
them, suggested for the article's `questions:`; uncovered groups as draft articles; proof after
a reindex that an accepted suggestion now answers (docs/architecture.md, "Suggestions")."""
