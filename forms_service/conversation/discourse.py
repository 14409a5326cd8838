"""The ``discourse`` target: each contribution a topic in its area's category, through the forum's REST API.

``POST /posts.json`` with a title, the text (``raw``), the category and ``external_id`` (the
idempotency key); before sending again, ``GET /t/external_id/<key>.json`` says whether an
earlier attempt arrived (200 or a redirect: it did). The forum's default rules are met or the
contribution fails clearly: a title of 15 to 255 characters, unique (it carries six characters
of the key), a post of at least 20 characters (the "submitted on paper" line), and no text all
in capitals (an answer written in capitals is posted in sentence case). At most
``DISCOURSE_RATE`` requests a minute leave the service; a 429 waits as long as the forum says
(``Retry-After``, or ``extras.wait_seconds`` in the body).

Must never: log or show the API key, or send anything but the title, the text, the category
and the key.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx

from ..config import DiscourseSettings
from . import MARKER, Post, Refused, Retry

TITLE_MIN, TITLE_MAX = 15, 255
SNIPPET = 80


def _capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def sentence_case(text: str) -> str:
    """An answer written in capitals, as the forum accepts it: lower case, each sentence and "I" capitalised."""
    out = re.sub(r"(^|[.!?]\s+|\n+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text.lower())
    return re.sub(r"\bi\b", "I", out)


def title_for(post: Post) -> str:
    """The topic's title: the answer's opening words and six characters of its key (titles must be unique)."""
    text = sentence_case(post.text) if _capitals(post.text) else post.text
    words = " ".join(text.split())
    snippet = words if len(words) <= SNIPPET else words[:SNIPPET].rsplit(" ", 1)[0] + "…"
    title = f"{snippet} (paper response {post.key[-6:]})"
    if len(title) < TITLE_MIN:
        title = f"Paper response: {title}"
    return title[:TITLE_MAX]


def body_for(post: Post) -> str:
    text = sentence_case(post.text) if _capitals(post.text) else post.text
    return f"{text}\n\n*This answer was {MARKER}.*"


class DiscourseTarget:
    name = "discourse"

    def __init__(self, settings: DiscourseSettings | None, transport: httpx.BaseTransport | None = None) -> None:
        if settings is None:
            raise Refused("FORMS_SERVICE_CONVERSATION=discourse needs the DISCOURSE_ settings.")
        self.settings = settings
        self.client = httpx.Client(base_url=settings.url, timeout=settings.timeout, follow_redirects=False,
                                   transport=transport,
                                   headers={"Api-Key": settings.api_key, "Api-Username": settings.username,
                                            "Accept": "application/json"})
        self._gap = 60.0 / settings.rate_per_minute

    _next: dict[str, float] = {}  # per forum, for every run of this process: a run does not reset the pace
    _lock = threading.Lock()

    def _pace(self) -> None:
        """At most DISCOURSE_RATE requests a minute from this process, across delivery runs."""
        with self._lock:
            now = time.monotonic()
            due = self._next.get(self.settings.url, 0.0)
            self._next[self.settings.url] = max(now, due) + self._gap
        if due > now:
            time.sleep(due - now)

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self._pace()
        try:
            answer = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise Retry(f"The forum did not answer within {self.settings.timeout:g} seconds.") from None
        except httpx.TransportError as exc:
            raise Retry(f"The forum could not be reached ({type(exc).__name__}).") from None
        if answer.status_code == 429:
            raise Retry("The forum asked us to slow down (429).", _wait(answer), rate_limited=True)
        if answer.status_code >= 500:
            raise Retry(f"The forum failed ({answer.status_code}).")
        if answer.status_code in (401, 403):
            raise Refused(f"The forum refused the API key or user ({answer.status_code}): check DISCOURSE_API_KEY "
                          "and DISCOURSE_API_USERNAME.")
        return answer

    def exists(self, key: str) -> str | None:
        answer = self._request("GET", f"/t/external_id/{key}.json")
        if answer.status_code in (301, 302, 303, 307, 308):
            found = re.search(r"/(\d+)(?:\.json)?/?$", answer.headers.get("location", ""))
            return found.group(1) if found else "exists"
        if answer.status_code == 200:
            return str(_json(answer).get("id", "exists"))
        if answer.status_code == 404:
            return None
        raise Retry(f"The forum answered {answer.status_code} when asked whether a post exists.")

    def send(self, post: Post) -> str:
        category = self.settings.categories.get(post.area)
        if category is None:
            raise Refused(f"No Discourse category is set for the area {post.area!r}: add it to DISCOURSE_CATEGORIES.")
        answer = self._request("POST", "/posts.json", json={
            "title": title_for(post), "raw": body_for(post), "category": category, "external_id": post.key})
        body = _json(answer)
        if answer.status_code == 200 and "topic_id" in body:
            return str(body["topic_id"])
        if answer.status_code == 422:
            errors = body.get("errors") or [body.get("error") or "validation failed"]
            raise Refused("The forum refused it: " + "; ".join(str(e) for e in errors))
        raise Retry(f"The forum answered {answer.status_code} to a new topic.")


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _wait(answer: httpx.Response) -> float | None:
    raw = answer.headers.get("retry-after")
    if raw and raw.strip().isdigit():
        return float(raw)
    extras = _json(answer).get("extras") or {}
    seconds = extras.get("wait_seconds") if isinstance(extras, dict) else None
    return float(seconds) if isinstance(seconds, int | float) else None
