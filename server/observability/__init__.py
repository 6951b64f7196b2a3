"""Logs, metrics and request context: what the service says about itself."""
