"""Answerdesk's core: everything between a channel and the index, with no channel framework in it.

`answer` is the message path (a customer's message in, the bot's reply out), `language` tells
which language a message is in, `desk` runs conversations through the bot → agent → ticket
waterfall, `store` keeps them (SQLite or PostgreSQL), `delivery` gets what the desk says out to
chat channels through a stored outbox, `reports` adds up the KPIs, and `reindex` turns the KB
into a live index. `config`, `errors` and `cli` (the `answerdesk` command and the composition
root) sit beside them. docs/architecture.md draws the map.
"""
