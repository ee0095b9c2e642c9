"""Background work (Huey): thin tasks that call into webapp services."""
