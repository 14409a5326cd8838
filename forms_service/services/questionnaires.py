"""Questionnaire versions: load the definitions, list, show, freeze.

The YAML files are the source: those shipped inside the package, then those
under FORMS_SERVICE_LAYOUTS (``<id>/<version>/questionnaire.yaml``), which add
to them (``questionnaire.loader.known_definitions``). The database keeps each
loaded version's text, so a printed version can be proved unchanged. A version
that has been printed is frozen: changing its file is refused, and the change
belongs in a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from ..context import ServiceContext
from ..errors import FrozenVersionError, NotFound
from ..questionnaire import LoadedDefinition, Questionnaire, known_definitions, load_definition
from ..questionnaire.loader import parse_definition
from ..store.models import QuestionnaireVersion, utcnow


@dataclass(frozen=True)
class VersionInfo:
    id: int
    questionnaire: str
    version: str
    title: str
    frozen: bool
    sha256: str
    blind_entry: bool = False  # written answers typed without the OCR suggestion
    double_keying: bool = False  # written answers typed by two people blind, a third settling a mismatch


@dataclass(frozen=True)
class SyncResult:
    questionnaire: str
    version: str
    outcome: str  # "added", "updated" or "unchanged"
    path: Path
    source: str  # "shipped with forms-service" or the file in the layouts folder


def pictogram_check() -> Callable[[str], bool]:
    from ..render import pictogram_exists

    return pictogram_exists


def validate_file(path: str | Path) -> LoadedDefinition:
    """Validate one definition file as `questionnaire validate` does (pictograms included)."""
    return load_definition(path, pictogram_exists=pictogram_check())


def sync_definitions(ctx: ServiceContext) -> list[SyncResult]:
    """Load the shipped definitions, then those the layouts folder adds, into the database.

    Every file is checked (pictograms included) before any is stored; a file in
    the layouts folder that would change a shipped version is refused.
    """
    return [_store(ctx, loaded) for loaded in known_definitions(ctx.config.layouts, pictogram_check())]


def _store(ctx: ServiceContext, loaded: LoadedDefinition) -> SyncResult:
    q = loaded.questionnaire
    with ctx.db.session() as s:
        row = s.scalar(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.questionnaire == q.id, QuestionnaireVersion.version == q.version
            )
        )
        source = loaded.path.read_text(encoding="utf-8")
        if row is None:
            s.add(
                QuestionnaireVersion(
                    questionnaire=q.id, version=q.version, title=q.title, sha256=loaded.sha256, source=source
                )
            )
            return SyncResult(q.id, q.version, "added", loaded.path, loaded.source)
        if row.sha256 == loaded.sha256:
            return SyncResult(q.id, q.version, "unchanged", loaded.path, loaded.source)
        if row.frozen_at is not None:
            raise FrozenVersionError(
                f"{loaded.path}: version {q.version} of {q.id} has been printed, so it cannot change; "
                f"copy the folder to a new version (and set 'version' inside) and change that."
            )
        row.title, row.sha256, row.source, row.loaded_at = q.title, loaded.sha256, source, utcnow()
        return SyncResult(q.id, q.version, "updated", loaded.path, loaded.source)


def list_versions(ctx: ServiceContext) -> list[VersionInfo]:
    with ctx.db.session() as s:
        rows = s.scalars(
            select(QuestionnaireVersion).order_by(
                QuestionnaireVersion.questionnaire, QuestionnaireVersion.version
            )
        )
        return [_info(r) for r in rows]


def get_version(ctx: ServiceContext, questionnaire: str, version: str | None = None) -> VersionInfo:
    """The named version, or the newest one of ``questionnaire``."""
    with ctx.db.session() as s:
        query = select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire == questionnaire)
        if version is not None:
            query = query.where(QuestionnaireVersion.version == version)
        rows = list(s.scalars(query.order_by(QuestionnaireVersion.version.desc())))
        if not rows:
            known = sorted({r.questionnaire for r in s.scalars(select(QuestionnaireVersion))})
            if version is not None and any(k == questionnaire for k in known):
                raise NotFound(f"Questionnaire {questionnaire!r} has no version {version!r}.")
            listing = ", ".join(known) if known else "none are loaded yet"
            raise NotFound(f"There is no questionnaire called {questionnaire!r} (known: {listing}).")
        return _info(rows[0])


def get_questionnaire(ctx: ServiceContext, questionnaire: str, version: str | None = None) -> Questionnaire:
    info = get_version(ctx, questionnaire, version)
    with ctx.db.session() as s:
        row = s.get(QuestionnaireVersion, info.id)
        assert row is not None
        return _parse(row.source, row.sha256, f"{questionnaire}/{info.version}")


def freeze(ctx: ServiceContext, version_id: int) -> None:
    with ctx.db.session() as s:
        row = s.get(QuestionnaireVersion, version_id)
        if row is not None and row.frozen_at is None:
            row.frozen_at = utcnow()


@lru_cache(maxsize=32)
def _parse(source: str, sha256: str, name: str) -> Questionnaire:
    return parse_definition(source.encode("utf-8"), Path(name)).questionnaire


def _info(row: QuestionnaireVersion) -> VersionInfo:
    return VersionInfo(row.id, row.questionnaire, row.version, row.title, row.frozen_at is not None, row.sha256,
                       bool(row.blind_entry), bool(row.double_keying))
