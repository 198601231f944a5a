"""The web channel: help-center pages, the chat widget's JSON API and the agent console.

`channels.web.app.create_app` builds the Flask app; `channels.serve` mounts the chat channels on it and serves it.
Everything here translates HTTP to `bot.desk.desk.Desk` calls and back; the desk decides.
"""
