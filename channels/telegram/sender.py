"""The outbox's sender for Telegram: one Bot API call per row, Telegram's errors sorted into retry or give up.

A payload is {"method": "sendMessage" | "editMessageReplyMarkup", "args": {...}} with plain
JSON arguments as the Bot API names them. The sender runs on the outbox's worker threads;
the `Bot` belongs to the channel's event loop, so each call is handed to that loop and waited
for here (a worker thread may block, the loop may not).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.delivery.outbox import DeliveryError, OutboxItem

RunOnLoop = Callable[[Coroutine[Any, Any, Any]], Any]  # runs a coroutine on the channel's loop and returns its result
# BadRequest texts that mean the edit happened already (a retry after a lost answer): done, not failed.
ALREADY_DONE = ("message is not modified",)


class TelegramSender:
    """Sends one outbox row through the Bot API; returns {"chat_id", "message_id"} of the posted message."""

    def __init__(self, bot: Bot, run: RunOnLoop) -> None:
        self.bot = bot
        self.run = run

    def __call__(self, item: OutboxItem) -> Mapping[str, Any]:
        method = item.payload["method"]
        args = dict(item.payload["args"])
        try:
            if method == "sendMessage":
                sent = self.run(self.bot.send_message(**_objects(args)))
                return {"chat_id": sent.chat_id, "message_id": sent.message_id}
            if method == "editMessageReplyMarkup":
                self.run(self.bot.edit_message_reply_markup(**_objects(args)))
                return {"chat_id": args.get("chat_id"), "message_id": args.get("message_id")}
        except RetryAfter as e:
            raise DeliveryError(f"Telegram flood control: {e}", retry_after=_seconds(e)) from e
        except BadRequest as e:  # before NetworkError: BadRequest is one
            if any(text in e.message.lower() for text in ALREADY_DONE):
                return {"chat_id": args.get("chat_id"), "message_id": args.get("message_id")}
            raise DeliveryError(f"Telegram refused the request: {e.message}", permanent=True) from e
        except (Forbidden, ChatMigrated) as e:  # blocked by the user, kicked, or the group became a supergroup
            raise DeliveryError(f"Telegram refused the chat: {e}", permanent=True) from e
        except (NetworkError, InvalidToken) as e:  # includes TimedOut and Telegram's 5xx
            raise DeliveryError(f"cannot reach Telegram: {type(e).__name__}: {e}") from e
        except TelegramError as e:
            raise DeliveryError(f"Telegram answered {type(e).__name__}: {e}") from e
        raise DeliveryError(f"unknown outbox method {method!r}", permanent=True)


def _objects(args: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON arguments as the python-telegram-bot objects its methods take."""
    out = dict(args)
    if isinstance(out.get("reply_markup"), Mapping):
        out["reply_markup"] = InlineKeyboardMarkup.de_json(out["reply_markup"], None)
    if isinstance(out.get("link_preview_options"), Mapping):
        out["link_preview_options"] = LinkPreviewOptions(**out["link_preview_options"])
    if isinstance(out.get("reply_parameters"), Mapping):
        out["reply_parameters"] = ReplyParameters(**out["reply_parameters"])
    return out


def _seconds(e: RetryAfter) -> float:
    with warnings.catch_warnings():  # v22 warns that retry_after becomes a timedelta; take either
        warnings.simplefilter("ignore")
        value = e.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
