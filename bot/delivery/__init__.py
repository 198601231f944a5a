"""Getting what the desk says to channels that have no open connection to the customer.

`outbox` stores every message before it is sent and drains it with retries (`sql_outbox` keeps
it in the store's database); `relay` follows the desk's replies per channel; `notify` keeps the
agents' desk cards in step with their conversations (`sql_delivery` stores the cards, relay
cursors and seen keys); `dedup` handles a retried platform event once.
"""
