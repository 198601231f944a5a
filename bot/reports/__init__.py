"""The KPI report: one outcome per conversation, figures per channel and day, what the KB missed.

`outcomes` classifies one conversation, `figures` adds up a period, `gaps` collects what the KB
missed and who asked for a person and groups them, `misses` tells a near-miss (the article
existed) from a true gap, `served` reads titles and the threshold from the served index,
`text` and `html` show it, and `command` is `answerdesk report`.
"""
