"""Outbound edge: queued and recurring pushes; the only code that calls WeChat's API."""
