"""The release this code is (shown by /healthz and the OpenAPI document)."""

__version__ = "0.1.0"
