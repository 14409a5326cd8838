"""A fresh database for a benchmark: SQLite in a temporary folder, or a PostgreSQL schema of its own.

Must never: touch a database it did not make (the PostgreSQL schema is made here and dropped after).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from forms_service.config import Config
from forms_service.context import ServiceContext
from forms_service.services import questionnaires


@contextmanager
def fresh_service(database: str | None) -> Iterator[tuple[Config, ServiceContext]]:
    """A service's configuration and context on a new, migrated database with the shipped questionnaires.

    ``database``: a PostgreSQL URL to make a schema in, or ``None`` for SQLite in a temporary folder.
    """
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        schema = None
        url = f"sqlite:///{home / 'forms-service.db'}"
        if database:
            schema = "bench_" + uuid.uuid4().hex[:10]
            with create_engine(database).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{database}{'&' if '?' in database else '?'}options=-csearch_path%3D{schema}"
        try:
            config = Config(home=home, layouts=Path(folder) / "layouts", database_url=url, secret_key="bench",
                            worker="off", testing=True)
            ctx = ServiceContext.from_config(config)
            ctx.db.upgrade()
            questionnaires.sync_definitions(ctx)
            try:
                yield config, ctx
            finally:
                ctx.close()
        finally:
            if schema and database:
                with create_engine(database).begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
