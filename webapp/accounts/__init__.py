"""Accounts: people, their roles, profile and preferences."""
