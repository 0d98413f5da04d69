"""Fixed-rate load generator for the WeChat callback (loopback only): `python -m loadtest --help`."""
