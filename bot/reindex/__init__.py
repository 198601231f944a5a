"""Turning the KB into the live index: validate, build, calibrate, publish atomically.

`run` is one reindex (the CLI's and the console's); `job` runs it in the background while the
server keeps answering from the index it has.
"""
