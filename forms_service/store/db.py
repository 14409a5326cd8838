"""Database connection, sessions and migrations.

One :class:`Database` per process and configuration: it owns the engine and a
session factory, upgrades the schema with Alembic, and turns connection
failures into one sentence that names DATABASE_URL.

Must never: print a password from DATABASE_URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable address>"


class Database:
    def __init__(self, url: str, home: Path | None = None) -> None:
        self.url = url
        #: FORMS_SERVICE_HOME, for the migrations that move stored files (None: they only rewrite rows)
        self.home = home
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseError(
                f"DATABASE_URL {url!r} is not a database address; use one such as "
                f"sqlite:////var/lib/forms-service/forms.db or "
                f"postgresql+psycopg://user@host/dbname."
            ) from None
        kwargs: dict[str, object] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (NoSuchModuleError, ArgumentError):
            raise DatabaseError(
                f"DATABASE_URL {safe_url(url)!r} names a kind of database this service does not "
                f"support; use sqlite:///... or postgresql+psycopg://..."
            ) from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def url_for_display(self) -> str:
        return safe_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def check(self) -> None:
        """Raise DatabaseError with a clear sentence if the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseError(
                f"Cannot connect to the database at {safe_url(self.url)} "
                f"({_reason(exc)}); check DATABASE_URL and that the database server is running."
            ) from None

    def alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["engine"] = self.engine
        cfg.attributes["home"] = self.home
        return cfg

    def upgrade(self) -> str | None:
        """Create or upgrade the schema to the newest migration; return the revision."""
        self.check()
        try:
            command.upgrade(self.alembic_config(), "head")
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"Could not upgrade the database at {safe_url(self.url)}: {_reason(exc)}."
            ) from None
        return self.current_revision()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def require_current(self) -> None:
        """Refuse to run against a database that is not at the newest migration."""
        self.check()
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise DatabaseError(
                f"The database at {safe_url(self.url)} is not up to date (at {current or 'nothing'}, "
                f"needs {head}); run 'forms-service db upgrade'."
            )

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(s: Session, table: Any) -> Any:
    """An INSERT that can say what to do on a conflict (``.on_conflict_do_update``), in the
    dialect of the session's database (PostgreSQL or SQLite: both have it)."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:200]
