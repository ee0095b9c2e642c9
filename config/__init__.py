"""Configuration: the Settings object and deploy files (nginx, systemd, ...)."""
