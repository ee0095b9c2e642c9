"""Admin: user management (roles, blocking, lockouts); monitoring panels build on this."""
