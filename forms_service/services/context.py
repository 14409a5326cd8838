"""The service context: configuration and database, built once per process.

Web views, API endpoints, CLI commands and background jobs all receive a
:class:`ServiceContext` and call the functions of the ``services`` modules
with it; nothing else touches the database directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, load_config
from ..store.db import Database


@dataclass
class ServiceContext:
    config: Config
    db: Database

    @classmethod
    def from_config(cls, config: Config | None = None) -> ServiceContext:
        config = config or load_config()
        return cls(config=config, db=Database(config.database_url))

    def close(self) -> None:
        self.db.dispose()
