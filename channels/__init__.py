"""The channels customers and agents reach Answerdesk through, each a thin adapter over the desk.

`web` is the Flask app (the widget's API, the help-center pages, the agent console); `slack`
and `telegram` are chat channels built on `chat`, the core every chat channel shares (keep,
hand to the desk, deliver through the outbox, relay, per-customer order). `serve` is the
composition root that mounts them together and serves them; `workers` does it under gunicorn.
No channel imports another.
"""
