"""Benchmarks: commands that measure, not tests (``python -m benchmarks.callback``)."""
