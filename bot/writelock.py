"""On SQLite, one writer at a time across threads and worker processes, without SQLite's sleeping busy handler."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine


class FileWriteLock:
    """A thread lock plus an flock on ``<database>.writelock``: waiters wake as soon as the writer commits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None:
                import os

                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def write_lock_for(engine: Engine | None) -> object:
    """A callable returning a context manager: the file lock for a SQLite file database, else a no-op."""
    url = engine.url if engine is not None else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileWriteLock(Path(url.database + ".writelock"))
    return _no_lock


def _no_lock() -> AbstractContextManager[None]:
    return nullcontext()
