"""Throttles for pages anyone can reach: the receipt page and signing in.

The ``limits`` library's moving window, counted in memory (one web process) or in Redis when the
workers use Celery (``FORMS_SERVICE_BROKER_URL``), so that every web process counts alike.

Must never: count or log a password or a receipt code.
"""

from __future__ import annotations

from collections.abc import Sequence

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..config import Config
from ..errors import ConfigurationError


class Throttle:
    """Named limits, each counted per key (an address, an account name, or "everyone")."""

    def __init__(self, storage_uri: str, prefix: str, **limits: str) -> None:
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.prefix = prefix
        self.limits: dict[str, list[RateLimitItem]] = {}
        for name, text in limits.items():
            try:
                parsed = parse_many(text)
            except ValueError:
                parsed = []
            if not parsed:
                raise ConfigurationError(f"The {name.replace('_', ' ')} limit must read like '10 per minute;60 per "
                                         f"hour' (found {text!r}).")
            self.limits[name] = parsed

    def hit(self, checks: Sequence[tuple[str, str]]) -> bool:
        """Count one event against each (limit name, key); False as soon as one is over its limit."""
        return all(self.window.hit(item, self.prefix, name, key)
                   for name, key in checks for item in self.limits[name])

    def allowed(self, checks: Sequence[tuple[str, str]]) -> bool:
        """Whether one more event would be within every (limit name, key), counting nothing."""
        return all(self.window.test(item, self.prefix, name, key)
                   for name, key in checks for item in self.limits[name])


def storage_uri(config: Config) -> str:
    return config.broker_url if config.worker == "celery" and config.broker_url else "memory://"
