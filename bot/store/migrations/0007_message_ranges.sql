-- Answerdesk schema, version 7: the relays' queries as index ranges (issue 15). The Slack and
-- Telegram relays read a channel's messages past a cursor, the mail relay agents' messages past
-- one; both ran as scans that grew with the store (62 ms at 1M messages, every 0.5 s).
CREATE INDEX messages_channel_id ON messages (channel, id);
CREATE INDEX messages_agent_id ON messages (id) WHERE author = 'agent';
