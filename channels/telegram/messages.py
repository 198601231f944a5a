"""What the Telegram channel says in logs, errors and its own fallback lines, in one place."""

from __future__ import annotations

TELEGRAM_OFF = "Telegram channel off: TELEGRAM_BOT_TOKEN not set"
WEBHOOK_OFF = (
    "Telegram webhook off: TELEGRAM_WEBHOOK_SECRET is not set, so /telegram/webhook is not mounted; "
    "set it and run 'answerdesk telegram --set-webhook https://<host>/telegram/webhook', or run 'answerdesk telegram --polling'"
)
TELEGRAM_UNREACHABLE = "Telegram (TELEGRAM_API_URL={url}) is unreachable at start-up ({error}); retrying every {every:.0f} s"
TOKEN_REFUSED = "Telegram refused the token at getMe ({error}); copy the token @BotFather gave you into TELEGRAM_BOT_TOKEN"
NEEDS_TOKEN = "Set TELEGRAM_BOT_TOKEN to the token @BotFather gave you (123456:ABC-...); the Telegram channel is off without it."
BAD_SECRET = "Use 1 to 256 characters A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token), e.g. the output of `openssl rand -hex 32`."
NEEDS_SECRET = "Set TELEGRAM_WEBHOOK_SECRET before registering a webhook: Telegram sends it back on every update and others cannot guess it."
BAD_API_URL = "Use an http(s) URL the token is appended to, e.g. https://api.telegram.org/bot (the default)."
BAD_WEBHOOK_URL = "Telegram only calls https URLs: use https://<your host>/telegram/webhook."

# The command menu comes from bot/phrases/*.toml (command_start/help/human); English if a key is missing.
COMMAND_DESCRIPTIONS = {
    "start": "Start a conversation",
    "help": "What I can do",
    "human": "Talk to a person",
}
MENU_LANGUAGES = ("en", "ar", "tr", "es")
