"""A forum on 127.0.0.1 that speaks Discourse's API shape (POST /posts.json, GET /t/external_id/<key>.json)
and misbehaves on request: 500s, 429 with Retry-After, answers slower than the client waits, connections
dropped before or after the topic is made, answers delayed after the topic is made, 422 for a title it
has seen."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "test-key-never-logged"


@dataclass
class Forum:
    faults: list[str] = field(default_factory=list)  # consumed one per POST /posts.json
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    slow_seconds: float = 1.5
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_external_id(self, key: str) -> dict[str, Any] | None:
        return next((t for t in self.topics.values() if t["external_id"] == key), None)


def _handler(forum: Forum) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.close()

        def do_GET(self) -> None:  # noqa: N802
            forum.requests.append(f"GET {self.path}")
            if self.headers.get("Api-Key") != API_KEY:
                return self._answer(403, {"errors": ["You are not permitted to view the requested resource."]})
            found = re.fullmatch(r"/t/external_id/([A-Za-z0-9_-]+)\.json", self.path)
            if not found:
                return self._answer(404, {"errors": ["not found"]})
            with forum.lock:
                topic = forum.by_external_id(found.group(1))
            if topic is None:
                return self._answer(404, {"errors": ["The requested URL or resource could not be found."]})
            self.send_response(301)
            self.send_header("Location", f"/t/topic/{topic['id']}.json")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            forum.requests.append(f"POST {self.path}")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.headers.get("Api-Key") != API_KEY:
                return self._answer(403, {"errors": ["You are not permitted to view the requested resource."]})
            with forum.lock:
                fault = forum.faults.pop(0) if forum.faults else None
            if fault == "500":
                return self._answer(500, {"errors": ["Internal Server Error"]})
            if fault == "429":
                return self._answer(429, {"errors": ["You've performed this action too many times."],
                                          "extras": {"wait_seconds": 3}}, {"Retry-After": "2"})
            if fault == "drop-before":
                return self._drop()
            if fault == "slow":
                time.sleep(forum.slow_seconds)
            with forum.lock:
                errors = []
                title, raw = str(body.get("title", "")), str(body.get("raw", ""))
                if not 15 <= len(title) <= 255:
                    errors.append("Title must be between 15 and 255 characters")
                if any(t["title"] == title for t in forum.topics.values()):
                    errors.append("Title has already been used")
                if len(raw) < 20:
                    errors.append("Body is too short (minimum is 20 characters)")
                letters = [c for c in raw if c.isalpha()]
                if letters and sum(c.isupper() for c in letters) / len(letters) > 0.8:
                    errors.append("Body seems unclear, is it a complete sentence? (all capitals)")
                if forum.by_external_id(str(body.get("external_id"))):
                    errors.append("External id has already been taken")
                if errors:
                    return self._answer(422, {"action": "create_post", "errors": errors})
                topic_id = len(forum.topics) + 1
                forum.topics[topic_id] = {"id": topic_id, "title": title, "raw": raw,
                                          "category": body.get("category"), "external_id": body.get("external_id")}
            if fault == "drop-after":
                return self._drop()  # made, and the answer lost
            if fault == "slow-after":
                time.sleep(forum.slow_seconds)  # made; the answer comes late (a client may die meanwhile)
            self._answer(200, {"id": topic_id * 10, "topic_id": topic_id, "post_number": 1})

    return Handler


@contextmanager
def running_forum() -> Iterator[Forum]:
    forum = Forum()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forum))
    forum.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forum
    finally:
        server.shutdown()
        server.server_close()
