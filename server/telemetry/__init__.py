"""Metrics and log formats, shared by every layer."""
