"""The chat-channel core: what every chat platform needs to get customers' messages to the desk and the desk's messages back."""
