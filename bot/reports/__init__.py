"""The KPI report: one outcome per conversation, figures per channel and day, the uncovered questions.

`outcomes` classifies one conversation, `figures` adds up a period, `gaps` groups what the KB
did not cover by meaning, `text` and `html` show it, and `command` is `answerdesk report`.
"""
