"""The conversation store: the one place channels, the desk and the console keep state.

`model` holds the records and the `Store` protocol; `sql` implements it once for both
databases (`rows` reads their rows into records); `connect.open_store` picks the database a
setting names; `db` is what the store needs of a database, and `sqlite` and `postgres` provide
it, each applying its numbered files in `migrations/` or `migrations_pg/` when it opens.
"""
