"""The `wxbot` command as an operator runs it beside a running demo, on the same (possibly faked) wall clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WXBOT = str(Path(sys.executable).with_name("wxbot"))
CLOCK_ENV = (
    "LD_PRELOAD",
    "TZ",
    "FAKETIME",
    "FAKETIME_NO_CACHE",
    "FAKETIME_DONT_FAKE_MONOTONIC",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_FORCE_FLAT_NAMESPACE",
)
"""What a faked wall clock (libfaketime, as .ci/run uses it) needs to reach the CLI too: one clock for all."""


def wxbot(config: Path, *args: str) -> str:
    """``wxbot --config CONFIG ARGS…``'s output; a non-zero exit fails the test with what the command said."""
    forwarded = (*CLOCK_ENV, "PYTHONPATH")  # PYTHONPATH: the command runs the code under test, not another checkout
    env = {"COLUMNS": "200", **{key: os.environ[key] for key in forwarded if key in os.environ}}
    proc = subprocess.run([WXBOT, "--config", str(config), *args], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
