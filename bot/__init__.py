"""Inbound edge: answers WeChat's pushes (signed, encrypted XML) with database work only."""
