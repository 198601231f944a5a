"""The support desk: conversations around the engine, and who may change their state.

`desk.Desk` is what every channel and the agent console call: it stores each message, asks the
engine, and moves a conversation along bot → waiting → agent → closed (or to a ticket). `hours`
says whether the team is in, `agents` keeps agent accounts, `agents_desk` words the handoff
cards a chat tool's agents see.
"""
