"""Configuration, read once from the environment into a typed object.

| variable | default | meaning |
| --- | --- | --- |
| FORMS_SERVICE_HOME | ./instance | database, stored scans, field crops, outbox, secret key |
| FORMS_SERVICE_LAYOUTS | ./layouts | layout files, and questionnaire definitions that add to the ones shipped in the package |
| FORMS_SERVICE_WATCH | ./scans | the watch folder: scan files dropped here are read by the worker |
| DATABASE_URL | sqlite:///$FORMS_SERVICE_HOME/forms-service.db | database address |
| FORMS_SERVICE_SECRET_KEY | generated once into $FORMS_SERVICE_HOME/secret-key | signs sessions |
| FORMS_SERVICE_MAX_COPIES | 5000 | the most copies one print run may order |
| FORMS_SERVICE_WORKER | embedded | `embedded` runs background jobs inside `serve`; `off` leaves them to another process; `celery` sends them to Celery workers through Redis |
| FORMS_SERVICE_BROKER_URL | (none) | the Redis address Celery uses (redis:// or rediss://); needed when FORMS_SERVICE_WORKER=celery |
| FORMS_SERVICE_CELERY_QUEUE | forms-service | the Celery queue's name, also the prefix of every Redis key the service uses |
| FORMS_SERVICE_AUTO_ACCEPT | on | `on`: readings at or above the fitted thresholds are accepted without a person; a confidence such as `0.999`: only readings at least that sure (never below the fitted thresholds); `off`: a person verifies every field |
| FORMS_SERVICE_SPOT_CHECK | 0.05 | the share of written answers the screen passes that are held all the same for a moderator's spot check (0 to 1) |
| FORMS_SERVICE_DENY_NAMES | (none) | a file of names the screen always holds (one a line, or a staff directory export: its first column) |
| FORMS_SERVICE_ALLOW_WORDS | (none) | a file of words the screen never takes for a name or abuse (one a line) |
| FORMS_SERVICE_CONVERSATION | export | where contributions are delivered: `export` (files per area under $FORMS_SERVICE_HOME/outbox), `discourse` or `webhook` |
| WEBHOOK_URL, WEBHOOK_SECRET | (none) | the receiver's address and the key the body is signed with (needed for `webhook`) |
| DISCOURSE_URL | (none) | the forum's address (needed for `discourse`) |
| DISCOURSE_API_KEY | (none) | an admin API key (never logged) |
| DISCOURSE_API_USERNAME | (none) | the account that posts (a dedicated "paper responses" user) |
| DISCOURSE_CATEGORIES | (none) | area=category id pairs: `staff=5,student=6,postgraduate-researcher=7` |
| DISCOURSE_RATE | 60 | requests a minute the service allows itself (Discourse's default admin API limit) |
| DISCOURSE_TIMEOUT | 10 | seconds to wait for the forum's answer |
| FORMS_SERVICE_DELIVERY_ATTEMPTS | 8 | attempts before a contribution the target keeps failing becomes a dead letter |
| FORMS_SERVICE_CLOSING_DATE | (none) | the consultation's closing date (YYYY-MM-DD): scan images are deleted FORMS_SERVICE_RETENTION_DAYS after it |
| FORMS_SERVICE_RETENTION_DAYS | 30 | days scan images are kept after the closing date (or, with none set, after they were received) |
| FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS | (none) | "about you" questions also counted against each other: `age:gender,disability:ethnicity` |
| FORMS_SERVICE_RECEIPT_URL | http://127.0.0.1:5000/receipt | the public receipt page, printed on every receipt slip (at most 80 characters) |
| FORMS_SERVICE_RECEIPT_RATE | 10 per minute;60 per hour | receipt lookups one address may make |
| FORMS_SERVICE_RECEIPT_RATE_GLOBAL | 300 per minute | receipt lookups from all addresses together |
| FORMS_SERVICE_SIGN_IN_RATE | 5 per 5 minutes;20 per hour | failed sign-ins allowed for one account before its sign-in is refused for a while |
| FORMS_SERVICE_SIGN_IN_RATE_ADDRESS | 20 per 5 minutes;100 per hour | failed sign-ins allowed from one address (an office shares one) |
| FORMS_SERVICE_LOG_LEVEL | INFO | logging level |

Must never: read the environment anywhere else in the package.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from .errors import ConfigurationError

WORKER_MODES = ("embedded", "off", "celery")
CONVERSATIONS = ("export", "discourse", "webhook")


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str = field(repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class DiscourseSettings:
    url: str
    api_key: str = field(repr=False)
    username: str
    categories: Mapping[str, int]
    rate_per_minute: float = 60.0
    timeout: float = 10.0
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


@dataclass(frozen=True)
class Config:
    home: Path
    layouts: Path
    database_url: str
    secret_key: str = field(repr=False)
    max_copies: int = 5000
    worker: str = "embedded"
    log_level: str = "INFO"
    testing: bool = False
    watch: Path | None = None
    broker_url: str | None = field(default=None, repr=False)  # may hold a password
    celery_queue: str = "forms-service"
    #: readings are auto-accepted only at or above this confidence (and the fitted threshold);
    #: 0 keeps the fitted thresholds, above 1 turns auto-acceptance off
    auto_accept_min: float = 0.0
    #: the share of passed written answers held for a moderator's spot check
    spot_check_rate: float = 0.05
    #: the deployment's word lists for the screen (files, read when they change)
    deny_names: Path | None = None
    allow_words: Path | None = None
    #: where contributions are delivered, and how often a failing delivery is tried
    conversation: str = "export"
    delivery_attempts: int = 8
    discourse: DiscourseSettings | None = None
    webhook: WebhookSettings | None = None
    #: retention: scan images are deleted this many days after the consultation closes (or,
    #: with no closing date, after they were received)
    closing_date: date | None = None
    retention_days: int = 30
    #: "about you" questions counted against each other as well as by group: (question, question)
    demographic_crossings: tuple[tuple[str, str], ...] = ()
    #: the public receipt page, printed on every receipt slip
    receipt_url: str = "http://127.0.0.1:5000/receipt"
    #: receipt lookups allowed per address and in all (Flask-Limiter notation)
    receipt_rate: str = "10 per minute;60 per hour"
    receipt_rate_global: str = "300 per minute"
    #: failed sign-ins allowed per account and per address before signing in is refused for a while
    sign_in_rate: str = "5 per 5 minutes;20 per hour"
    sign_in_rate_address: str = "20 per 5 minutes;100 per hour"

    @property
    def scans_dir(self) -> Path:
        return self.home / "scans"

    @property
    def print_dir(self) -> Path:
        return self.home / "print-runs"

    @property
    def previews_dir(self) -> Path:
        return self.home / "previews"

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_config(env: Mapping[str, str] | None = None, *, ensure_home: bool = True) -> Config:
    """Build the configuration from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    home = Path(env.get("FORMS_SERVICE_HOME") or "instance").expanduser().resolve()
    layouts = Path(env.get("FORMS_SERVICE_LAYOUTS") or "layouts").expanduser().resolve()
    watch = Path(env.get("FORMS_SERVICE_WATCH") or "scans").expanduser().resolve()
    if ensure_home:
        _ensure_writable(home)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{home / 'forms-service.db'}"
    secret = env.get("FORMS_SERVICE_SECRET_KEY") or (_secret_key(home) if ensure_home else "")
    try:
        max_copies = int(env.get("FORMS_SERVICE_MAX_COPIES", "5000"))
    except ValueError:
        raise ConfigurationError(
            "FORMS_SERVICE_MAX_COPIES must be a whole number, such as 5000."
        ) from None
    worker = env.get("FORMS_SERVICE_WORKER") or "embedded"
    if worker not in WORKER_MODES:
        raise ConfigurationError(
            f"FORMS_SERVICE_WORKER must be 'embedded', 'off' or 'celery' (found {worker!r})."
        )
    broker_url = _broker_url(env.get("FORMS_SERVICE_BROKER_URL") or None, worker)
    celery_queue = env.get("FORMS_SERVICE_CELERY_QUEUE") or "forms-service"
    if not _QUEUE_NAME.fullmatch(celery_queue):
        raise ConfigurationError(
            f"FORMS_SERVICE_CELERY_QUEUE must be a name of letters, digits and . _ : - "
            f"(at most 100), such as forms-service (found {celery_queue!r})."
        )
    auto_accept_min = _auto_accept(env.get("FORMS_SERVICE_AUTO_ACCEPT") or "on")
    spot_check_rate = _share(env.get("FORMS_SERVICE_SPOT_CHECK") or "0.05", "FORMS_SERVICE_SPOT_CHECK")
    conversation = (env.get("FORMS_SERVICE_CONVERSATION") or "export").strip().lower()
    if conversation not in CONVERSATIONS:
        raise ConfigurationError(f"FORMS_SERVICE_CONVERSATION must be one of {', '.join(CONVERSATIONS)} "
                                 f"(found {conversation!r}).")
    discourse = _discourse(env) if conversation == "discourse" else None
    webhook = _webhook(env) if conversation == "webhook" else None
    raw_attempts = env.get("FORMS_SERVICE_DELIVERY_ATTEMPTS") or "8"
    if not raw_attempts.strip().isdigit() or not 1 <= int(raw_attempts) <= 100:
        raise ConfigurationError("FORMS_SERVICE_DELIVERY_ATTEMPTS must be a whole number from 1 to 100 "
                                 f"(found {raw_attempts!r}).")
    raw_days = (env.get("FORMS_SERVICE_RETENTION_DAYS") or "30").strip()
    if not raw_days.isdigit() or int(raw_days) > 3650:
        raise ConfigurationError("FORMS_SERVICE_RETENTION_DAYS must be a whole number of days from 0 to 3650 "
                                 f"(found {raw_days!r}).")
    raw_closing = (env.get("FORMS_SERVICE_CLOSING_DATE") or "").strip()
    try:
        closing_date = date.fromisoformat(raw_closing) if raw_closing else None
    except ValueError:
        raise ConfigurationError("FORMS_SERVICE_CLOSING_DATE must be the consultation's closing date as "
                                 f"YYYY-MM-DD, such as 2027-03-31 (found {raw_closing!r}).") from None
    receipt_url = (env.get("FORMS_SERVICE_RECEIPT_URL") or "http://127.0.0.1:5000/receipt").strip()
    if not re.fullmatch(r"https?://[^\s/]+(?:/[^\s]*)?", receipt_url) or len(receipt_url) > 80:
        raise ConfigurationError("FORMS_SERVICE_RECEIPT_URL must be the receipt page's web address as it is printed "
                                 f"on the slip, such as https://consult.example.ac.uk/receipt (found {receipt_url!r}).")
    crossings: list[tuple[str, str]] = []
    for item in (env.get("FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS") or "").split(","):
        if not item.strip():
            continue
        pair = [p.strip() for p in item.split(":")]
        if len(pair) != 2 or not all(re.fullmatch(r"[a-z][a-z0-9_-]*", p) for p in pair) or pair[0] == pair[1]:
            raise ConfigurationError("FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS must be pairs of two different question "
                                     f"ids, such as age:gender,disability:ethnicity (found {item.strip()!r}).")
        crossings.append((pair[0], pair[1]))
    return Config(
        home=home,
        layouts=layouts,
        database_url=database_url,
        secret_key=secret,
        max_copies=max_copies,
        worker=worker,
        log_level=env.get("FORMS_SERVICE_LOG_LEVEL", "INFO").upper(),
        watch=watch,
        broker_url=broker_url,
        celery_queue=celery_queue,
        auto_accept_min=auto_accept_min,
        spot_check_rate=spot_check_rate,
        deny_names=Path(env["FORMS_SERVICE_DENY_NAMES"]) if env.get("FORMS_SERVICE_DENY_NAMES") else None,
        allow_words=Path(env["FORMS_SERVICE_ALLOW_WORDS"]) if env.get("FORMS_SERVICE_ALLOW_WORDS") else None,
        conversation=conversation,
        delivery_attempts=int(raw_attempts),
        discourse=discourse,
        webhook=webhook,
        closing_date=closing_date,
        retention_days=int(raw_days),
        demographic_crossings=tuple(crossings),
        receipt_url=receipt_url,
        receipt_rate=(env.get("FORMS_SERVICE_RECEIPT_RATE") or "10 per minute;60 per hour").strip(),
        receipt_rate_global=(env.get("FORMS_SERVICE_RECEIPT_RATE_GLOBAL") or "300 per minute").strip(),
        sign_in_rate=(env.get("FORMS_SERVICE_SIGN_IN_RATE") or "5 per 5 minutes;20 per hour").strip(),
        sign_in_rate_address=(env.get("FORMS_SERVICE_SIGN_IN_RATE_ADDRESS") or "20 per 5 minutes;100 per hour").strip(),
    )


def _webhook(env: Mapping[str, str]) -> WebhookSettings:
    """The receiver's settings, checked; messages never repeat the secret."""
    missing = [n for n in ("WEBHOOK_URL", "WEBHOOK_SECRET") if not (env.get(n) or "").strip()]
    if missing:
        raise ConfigurationError(f"FORMS_SERVICE_CONVERSATION=webhook needs {', '.join(missing)}.")
    url = env["WEBHOOK_URL"].strip()
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise ConfigurationError(f"WEBHOOK_URL must be the receiver's address, such as "
                                 f"https://example.org/contributions (found {url!r}).")
    return WebhookSettings(url, env["WEBHOOK_SECRET"].strip())


def _discourse(env: Mapping[str, str]) -> DiscourseSettings:
    """The forum's settings, checked; messages never repeat the API key."""
    missing = [n for n in ("DISCOURSE_URL", "DISCOURSE_API_KEY", "DISCOURSE_API_USERNAME", "DISCOURSE_CATEGORIES")
               if not (env.get(n) or "").strip()]
    if missing:
        raise ConfigurationError(f"FORMS_SERVICE_CONVERSATION=discourse needs {', '.join(missing)}.")
    url = env["DISCOURSE_URL"].strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise ConfigurationError(f"DISCOURSE_URL must be the forum's address, such as https://forum.example.org "
                                 f"(found {url!r}).")
    categories: dict[str, int] = {}
    for pair in env["DISCOURSE_CATEGORIES"].split(","):
        area, _, number = pair.partition("=")
        if not area.strip() or not number.strip().isdigit():
            raise ConfigurationError("DISCOURSE_CATEGORIES must be area=category id pairs, such as "
                                     f"staff=5,student=6 (found {pair.strip()!r}).")
        categories[area.strip()] = int(number)
    numbers = {}
    for name, default in (("DISCOURSE_RATE", "60"), ("DISCOURSE_TIMEOUT", "10")):
        raw = env.get(name) or default
        try:
            numbers[name] = float(raw)
        except ValueError:
            numbers[name] = 0.0
        if not 0 < numbers[name] <= 10_000:
            raise ConfigurationError(f"{name} must be a positive number (found {raw!r}).")
    return DiscourseSettings(url, env["DISCOURSE_API_KEY"].strip(), env["DISCOURSE_API_USERNAME"].strip(),
                             categories, numbers["DISCOURSE_RATE"], numbers["DISCOURSE_TIMEOUT"])


def _share(value: str, name: str) -> float:
    try:
        share = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
    except ValueError:
        share = math.nan
    if not 0.0 <= share <= 1.0:
        raise ConfigurationError(f"{name} must be a share between 0 and 1, such as 0.05 (found {value!r}).")
    return share


def _auto_accept(value: str) -> float:
    """FORMS_SERVICE_AUTO_ACCEPT as the lowest confidence that may be auto-accepted."""
    word = value.strip().lower()
    if word == "on":
        return 0.0
    if word == "off":
        return math.inf
    try:
        floor = float(word)
    except ValueError:
        floor = math.nan
    if not 0.5 <= floor <= 1.0:  # also false for nan
        raise ConfigurationError(
            "FORMS_SERVICE_AUTO_ACCEPT must be 'on', 'off' or the lowest confidence to accept "
            f"without a person, between 0.5 and 1, such as 0.999 (found {value!r})."
        )
    return floor


def _broker_url(url: str | None, worker: str) -> str | None:
    """The Redis address for Celery, checked; the message never repeats a password."""
    if url is None:
        if worker == "celery":
            raise ConfigurationError(
                "FORMS_SERVICE_WORKER=celery needs FORMS_SERVICE_BROKER_URL, the address of the "
                "Redis server that carries the job messages, such as redis://localhost:6379/0."
            )
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("redis", "rediss"):
        shown = f"a {scheme}:// address" if scheme else "no address"
        raise ConfigurationError(
            f"FORMS_SERVICE_BROKER_URL must be a Redis address beginning redis:// or rediss:// "
            f"(found {shown}), such as redis://localhost:6379/0."
        )
    return url


def _ensure_writable(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"FORMS_SERVICE_HOME ({home}) is not a folder this user can write to "
            f"({exc.strerror or exc}); set FORMS_SERVICE_HOME to a writable folder, "
            f"for example FORMS_SERVICE_HOME=$HOME/forms-service."
        ) from None


def _secret_key(home: Path) -> str:
    path = home / "secret-key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
