"""Monitoring: health, Prometheus metrics (metrics collection, widgets and alerts build on this)."""
