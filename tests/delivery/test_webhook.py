"""Delivery to a webhook receiver on 127.0.0.1 that fails now and then and drops answers: each ready
contribution is received once per key, signed; nothing held arrives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from forms_service.config import WebhookSettings
from forms_service.context import ServiceContext
from forms_service.conversation.webhook import SIGNATURE, signature
from forms_service.services import delivery
from forms_service.store.models import utcnow
from tests.delivery.conftest import WRITTEN

SECRET = "webhook-secret"


class Receiver:
    def __init__(self) -> None:
        self.faults: list[str] = []
        self.received: dict[str, dict[str, Any]] = {}
        self.deliveries = 0
        self.bad_signatures = 0
        self.url = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            r.deliveries += 1
            if self.headers.get(SIGNATURE) != signature(SECRET, body):
                r.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            fault = r.faults.pop(0) if r.faults else None
            if fault == "503":
                self.send_response(503)
                self.end_headers()
                return
            key = self.headers["Idempotency-Key"]
            seen = key in r.received
            r.received.setdefault(key, json.loads(body))
            if fault == "drop-after":
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(409 if seen else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    r.url = f"http://127.0.0.1:{server.server_address[1]}/contributions"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield r
    server.shutdown()
    server.server_close()


def test_each_ready_answer_is_received_once_signed(screened: ServiceContext, receiver: Receiver) -> None:
    screened.config = screened.config.with_(conversation="webhook",
                                            webhook=WebhookSettings(receiver.url, SECRET, timeout=1.0))
    receiver.faults = ["503", "drop-after"]
    later = utcnow()
    for _ in range(6):
        later += timedelta(days=1)
        delivery.deliver(screened, now=later)
    assert sorted(b["text"] for b in receiver.received.values()) == sorted([WRITTEN[0], WRITTEN[3]])
    assert all(set(b) == {"key", "area", "text", "submitted"} for b in receiver.received.values())
    assert receiver.bad_signatures == 0 and delivery.counts(screened)["sent"] == 2
