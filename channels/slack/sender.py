"""The outbox's sender for Slack: one Web API call per row, Slack's errors sorted into retry or give up.

A payload is {"method": "chat.postMessage" | "chat.update" | "chat.postEphemeral", "args": {...}},
plus, for the agents' desk, {"card": <card id>, "use": "post_card" | "thread" | "update"}: the
card's Slack ts is known only once its post went out, so it is filled in here, at send time.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.notify import DeskCards
from bot.delivery.outbox import DeliveryError, OutboxItem

# Errors about the request itself: sending it again cannot succeed.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "is_archived", "msg_too_long", "no_text", "invalid_blocks", "invalid_blocks_format",
    "invalid_arguments", "invalid_arg_name", "message_not_found", "cant_update_message", "edit_window_closed",
    "user_not_found", "user_not_in_channel", "thread_locked", "restricted_action", "too_many_attachments",
    "invalid_attachments", "metadata_too_large", "invalid_metadata_format",
})
DEFAULT_RETRY_AFTER = 1.0


class SlackSender:
    """Sends one outbox row through the Web API; returns {"channel", "ts"} of the posted message."""

    def __init__(self, client: WebClient, cards: DeskCards) -> None:
        self.client = client
        self.cards = cards

    def __call__(self, item: OutboxItem) -> Mapping[str, Any]:
        payload = item.payload
        args = dict(payload["args"])
        use = payload.get("use")
        if use in ("thread", "update"):
            card = self.cards.get_card(int(payload["card"]))
            if card is None or card.ref is None:
                # Rows of one target go out in order, so the card's own post was tried first and failed for good.
                raise DeliveryError(f"card {payload['card']} was never posted", permanent=True)
            channel, ts = card.ref.split(":", 1)
            if use == "thread":
                args["thread_ts"] = ts
            else:
                args.update(channel=channel, ts=ts)
        try:
            response = self.client.api_call(payload["method"], json=args)
        except SlackApiError as e:
            raise _api_error(e) from e
        except (SlackClientError, OSError, http.client.HTTPException, ValueError) as e:
            raise DeliveryError(f"cannot reach Slack: {type(e).__name__}: {e}") from e
        result = {"channel": response.get("channel") or args.get("channel"), "ts": response.get("ts") or response.get("message_ts")}
        if use == "post_card" and result["ts"]:
            self.cards.set_ref(int(payload["card"]), f"{result['channel']}:{result['ts']}")
        return result


def _api_error(e: SlackApiError) -> DeliveryError:
    response = e.response
    error = str(response.get("error") or f"HTTP {response.status_code}") if isinstance(response.data, dict) else f"HTTP {response.status_code}"
    if response.status_code == 429 or error == "ratelimited":
        return DeliveryError(f"Slack rate limit ({error})", retry_after=_retry_after(response.headers))
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused the message: {error}", permanent=True)
    return DeliveryError(f"Slack answered {error} (HTTP {response.status_code})")


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER
