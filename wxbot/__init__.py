"""Composition root: the `wxbot` command wires settings, posts/, bot/, scheduler/ and the stand-in."""
