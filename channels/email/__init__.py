"""E-mail, the customer channel that only sends: agents' answers to missed conversations and tickets."""
