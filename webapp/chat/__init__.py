"""Chat: dialogs with characters, messages, the live socket, context memory and favorites."""
