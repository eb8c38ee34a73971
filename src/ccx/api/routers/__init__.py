"""HTTP routes. Each handler validates, makes one service or query call, and maps the answer."""

API_PREFIX = "/api/v1"
"""Prefix of every versioned route (the operational ones, /healthz and /metrics, have none)."""
