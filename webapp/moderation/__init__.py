"""Moderation: users, characters and reported messages in sortable tables; hide, block, resolve."""
