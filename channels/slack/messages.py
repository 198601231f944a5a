"""What the Slack channel says in logs, errors and its own fallback lines, in one place."""

from __future__ import annotations

SLACK_OFF = "Slack channel off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set"
NO_AGENTS_CHANNEL = (
    "Slack channel on without an agents' desk: set SLACK_AGENTS_CHANNEL to a channel id (C0123...) the bot is in "
    "to get a card there for every handoff"
)
TOKEN_REFUSED = "Slack refused it at auth.test ({error}); copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions"
SLACK_UNREACHABLE = "Slack (SLACK_API_URL={url}) is unreachable at start-up ({error}); the token is checked on the first event"
NEEDS_SECRET = (
    "Set SLACK_SIGNING_SECRET to the app's Signing Secret (Basic Information > App Credentials), "
    "or SLACK_SOCKET_MODE=1 with SLACK_APP_TOKEN, or unset SLACK_BOT_TOKEN to turn the Slack channel off."
)
NEEDS_TOKEN = "Set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-...), or unset it too to turn the Slack channel off."
NEEDS_APP_TOKEN = "Socket Mode needs SLACK_APP_TOKEN: an app-level token (xapp-...) with the connections:write scope."
BAD_API_URL = "Use an http(s) URL ending in /api/, e.g. https://slack.com/api/ (the default)."

# To an agent only (ephemeral), on the agents' desk.
TAKEN_BY_OTHER = "{agent} already has this conversation."
HELD_BY_OTHER = "{agent} has this conversation: only they can close it. Press Take over on the card to take it from them first."
NOT_YOURS = "This conversation is not yours (it is {state}): press Take on the card first."
NOT_OPEN = "This conversation is {state}; there is nothing to do."
