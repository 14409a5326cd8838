"""The service context: configuration, database and file storage, built once per process.

Web views, API endpoints, CLI commands and background jobs all receive a
:class:`ServiceContext` and call the functions of the ``services`` modules
with it; nothing else touches the database or the stored files directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import Config, load_config
from .storage import Storage
from .store.db import Database


@dataclass
class ServiceContext:
    config: Config
    db: Database
    storage: Storage = field(init=False)

    def __post_init__(self) -> None:
        self.storage = Storage(self.config.home)
        if self.db.home is None:  # the migrations that move stored files need to know where they are
            self.db.home = self.config.home

    @classmethod
    def from_config(cls, config: Config | None = None) -> ServiceContext:
        config = config or load_config()
        return cls(config=config, db=Database(config.database_url, home=config.home))

    def close(self) -> None:
        self.db.dispose()
