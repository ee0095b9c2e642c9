"""Notify: outgoing email (Telegram and SMS channels build on this), and the dev mail sink."""
