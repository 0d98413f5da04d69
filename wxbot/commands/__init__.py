"""One module per `wxbot` subcommand group."""
