"""The message path: a customer's message in, the bot's reply out.

`engine` runs it top to bottom (small talk, a request for a person, language, follow-up
context, retrieval, decision, the focused reply); `decision` turns scores into answer, clarify
or handoff with thresholds from `calibration`; `focus` cuts the part of an article that
answers; `phrases` holds the bot's own sentences. Nothing here keeps state between messages:
the desk passes the conversation's history in.
"""
