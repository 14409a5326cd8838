"""The ``export`` target: files per area under the home's ``outbox/``, for facilitators who upload
into a platform without an API. Each contribution is in exactly one file, once."""

from __future__ import annotations

import csv
import fcntl
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

from ..storage import Storage
from . import MARKER, Post


class ExportTarget:
    """Files per area: ``outbox/<area>.jsonl`` and ``outbox/<area>.csv``."""

    name = "export"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def _key(area: str, ext: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in area) or "area"
        return f"outbox/{safe}.{ext}"

    def exists(self, key: str) -> str | None:
        with self._locked():
            return self._find(key)

    def _find(self, key: str) -> str | None:
        for stored in self.storage.keys("outbox/"):
            if stored.endswith(".jsonl"):
                for line in self.storage.read(stored).decode("utf-8").splitlines():
                    if line and json.loads(line).get("key") == key:
                        return stored
        return None

    def send(self, post: Post) -> str:
        with self._locked():  # runs in other processes append to the same files
            return self._append(post)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.storage.path("outbox/delivery.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _append(self, post: Post) -> str:
        jsonl, table = self._key(post.area, "jsonl"), self._key(post.area, "csv")
        old = self.storage.read(jsonl) if self.storage.exists(jsonl) else b""
        self.storage.write(jsonl, old + (json.dumps(post.as_dict(), ensure_ascii=False) + "\n").encode("utf-8"))
        buf = io.StringIO()
        writer = csv.writer(buf)
        if not self.storage.exists(table):
            writer.writerow(["key", "area", "text", "submitted"])
        writer.writerow([post.key, post.area, post.text, MARKER])
        old = self.storage.read(table) if self.storage.exists(table) else b""
        self.storage.write(table, old + buf.getvalue().encode("utf-8"))
        return jsonl
