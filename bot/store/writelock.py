"""On SQLite, one writer at a time across threads and worker processes, without SQLite's sleeping busy handler."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileWriteLock:
    """A thread lock plus an flock on ``<database>.writelock``: waiters wake as soon as the writer commits.

    Use it as a context manager (``with lock():``), or with :meth:`try_acquire` / :meth:`acquire` and
    :meth:`release` (group commit tries first, so that its event loop never blocks on another worker).
    """

    @classmethod
    def beside(cls, database: str) -> FileWriteLock:
        """The lock of the SQLite file ``database``: ``<database>.writelock``, shared by every process using it."""
        return cls(Path(database + ".writelock"))

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it, without waiting."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd
