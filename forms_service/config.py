"""Configuration, read once from the environment into a typed object.

| variable | default | meaning |
| --- | --- | --- |
| FORMS_SERVICE_HOME | ./instance | database, stored scans, field crops, outbox, secret key |
| FORMS_SERVICE_LAYOUTS | ./layouts | layout files and the questionnaire definitions beside them |
| FORMS_SERVICE_WATCH | ./scans | the watch folder: scan files dropped here are read by the worker |
| DATABASE_URL | sqlite:///$FORMS_SERVICE_HOME/forms-service.db | database address |
| FORMS_SERVICE_SECRET_KEY | generated once into $FORMS_SERVICE_HOME/secret-key | signs sessions |
| FORMS_SERVICE_MAX_COPIES | 5000 | the most copies one print run may order |
| FORMS_SERVICE_WORKER | embedded | `embedded` runs background jobs inside `serve`; `off` leaves them to another process |
| FORMS_SERVICE_LOG_LEVEL | INFO | logging level |

Must never: read the environment anywhere else in the package.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigurationError


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
    worker = env.get("FORMS_SERVICE_WORKER", "embedded")
    if worker not in ("embedded", "off"):
        raise ConfigurationError(
            f"FORMS_SERVICE_WORKER must be 'embedded' or 'off' (found {worker!r})."
        )
    return Config(
        home=home,
        layouts=layouts,
        database_url=database_url,
        secret_key=secret,
        max_copies=max_copies,
        worker=worker,
        log_level=env.get("FORMS_SERVICE_LOG_LEVEL", "INFO").upper(),
        watch=watch,
    )


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
