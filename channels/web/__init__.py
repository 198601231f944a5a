"""The web channel: help-center pages, the chat widget's JSON API and the agent console.

`channels.web.app.create_app` builds the Flask app; `channels.web.server.serve` runs it.
Everything here translates HTTP to `bot.desk.Desk` calls and back; the desk decides.
"""
