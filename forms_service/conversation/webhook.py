"""The ``webhook`` target: a signed JSON POST per contribution to ``WEBHOOK_URL``.

The body is ``{"key", "area", "text", "submitted": "submitted on paper"}``; headers carry the
idempotency key (``Idempotency-Key``) and ``X-Forms-Service-Signature: sha256=<hex>``, an
HMAC-SHA256 of the exact body under ``WEBHOOK_SECRET``. A receiver treats a key it has seen as
success (200 or 409), since a contribution whose answer was lost is sent again with the same
key. 2xx and 409: delivered; 429 and 5xx, timeouts, dropped connections: retried; any other 4xx:
a dead letter with the receiver's words.

Must never: log the secret, or send anything but the body above.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from ..config import WebhookSettings
from . import Post, Refused, Retry

SIGNATURE = "X-Forms-Service-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookTarget:
    name = "webhook"

    def __init__(self, settings: WebhookSettings | None) -> None:
        if settings is None:
            raise Refused("FORMS_SERVICE_CONVERSATION=webhook needs WEBHOOK_URL and WEBHOOK_SECRET.")
        self.settings = settings
        self.client = httpx.Client(timeout=settings.timeout, follow_redirects=False)

    def exists(self, key: str) -> str | None:
        return None  # a webhook has no lookup: the receiver treats a repeated Idempotency-Key as success

    def send(self, post: Post) -> str:
        body = json.dumps(post.as_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            answer = self.client.post(self.settings.url, content=body, headers={
                "Content-Type": "application/json", "Idempotency-Key": post.key,
                SIGNATURE: signature(self.settings.secret, body)})
        except httpx.TimeoutException:
            raise Retry(f"The receiver did not answer within {self.settings.timeout:g} seconds.") from None
        except httpx.TransportError as exc:
            raise Retry(f"The receiver could not be reached ({type(exc).__name__}).") from None
        if 200 <= answer.status_code < 300 or answer.status_code == 409:
            return post.key
        if answer.status_code == 429:
            wait = answer.headers.get("retry-after", "")
            raise Retry("The receiver asked us to slow down (429).", float(wait) if wait.isdigit() else None,
                        rate_limited=True)
        if answer.status_code >= 500:
            raise Retry(f"The receiver failed ({answer.status_code}).")
        raise Refused(f"The receiver refused it ({answer.status_code}): {answer.text[:300]}")
