"""Auth: signing in and out (registration, confirmation and tokens build on this)."""
