"""The Telegram channel: customers in private chats and groups, answered through the outbox (see docs/architecture.md)."""
