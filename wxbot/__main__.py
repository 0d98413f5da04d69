"""`python -m wxbot` is the same as the `wxbot` command."""

from wxbot.cli import main

main()
