"""The Slack channel: customers in DMs and mentions, and Slack as the agents' desk (see docs/architecture.md)."""
