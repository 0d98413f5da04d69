"""The README's shell commands run as written from the repository after `make demo`: each program exists, each
`make` target and each `wxbot` subcommand it names is there (its --help answers)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
_INLINE = re.compile(r"`(\.venv/bin/wxbot [^`]*)`")
_WORD = re.compile(r"[a-z][a-z-]*")


def readme_commands() -> list[list[str]]:
    """Every command of the README's sh blocks (variables expanded, comments dropped) and inline .venv/bin commands."""
    commands: list[list[str]] = []
    for block in _SH_BLOCK.findall(README):
        variables: dict[str, str] = {}
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if len(words) == 1 and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                name, _, value = words[0].partition("=")
                variables[name] = value
                continue
            expanded = " ".join(words)
            for name, value in variables.items():
                expanded = expanded.replace(f"${name}", value)
            commands.append(shlex.split(expanded))
    commands += [shlex.split(found) for found in _INLINE.findall(README)]
    return commands


def subcommand(words: list[str]) -> list[str]:
    """The subcommand path of a wxbot command line: leading words, with ``--config FILE`` kept in place."""
    out: list[str] = []
    rest = iter(words)
    for word in rest:
        if word == "--config":
            out += [word, next(rest)]
        elif _WORD.fullmatch(word):
            out.append(word)
        else:
            break
    return out


COMMANDS = readme_commands()


def test_the_readme_has_the_demo_and_operator_commands() -> None:
    programs = [c[0] for c in COMMANDS]
    assert "make" in programs and ".venv/bin/wxbot" in programs
    assert any(c[:1] == [".venv/bin/wxbot"] and "post" in c for c in COMMANDS)


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_each_readme_command_runs_as_written(words: list[str]) -> None:
    program = words[0]
    if program == "make":
        done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return
    # A fresh shell after `make demo` has no virtualenv on PATH: a program is named by its path in the clone.
    assert "/" in program, f"{program!r} is not on PATH after `make demo`; name it by its path (.venv/bin/...)"
    path = ROOT / program
    assert path.is_file() and os.access(path, os.X_OK), f"{program} does not exist after `make demo`"
    env = {k: v for k, v in os.environ.items() if k != "WXBOT_CONFIG"}
    args = [str(path), *subcommand(words[1:]), "--help"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
    assert "Usage:" in done.stdout
