"""Database tables (SQLAlchemy 2.0 declarative models).

Schema changes go through Alembic migrations in ``store/migrations``; a test
checks that the models and the migrations agree.

Must never: store a sheet id next to anything about a person (users are staff
who run the service, never respondents), or keep answer text in a log table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..states import (
    ContributionState,
    FieldState,
    JobState,
    OutboxState,
    PrintRunState,
    ScanFileState,
    ScanPageState,
    values,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = (
    "administrator",
    "facilities-manager",
    "accessibility-coordinator",
    "verifier",
    "moderator",
    "analyst",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def state_column(enum: type[Any]) -> Enum:
    """A state stored as its value in a plain VARCHAR(16) (no database enum type to migrate)."""
    return Enum(enum, native_enum=False, length=16, values_callable=values, validate_strings=True,
                create_constraint=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    """A member of staff who runs the service (never a respondent)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # a generated password (the first administrator's): replaced by their own at first sign-in
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Base):
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship(lazy="joined")


class QuestionnaireVersion(Base):
    """One version of a questionnaire definition, as loaded from its YAML file."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)
    # how people verify its written answers: without the OCR suggestion; typed by two people blind
    blind_entry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    double_keying: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PrintRun(Base):
    """A batch of printed copies of one variant (the sheets, never who got them)."""

    __tablename__ = "print_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id"), index=True
    )
    variant: Mapped[str] = mapped_column(String(32))
    copies: Mapped[int] = mapped_column(Integer)
    batch: Mapped[str | None] = mapped_column(String(80), default=None)
    state: Mapped[PrintRunState] = mapped_column(state_column(PrintRunState), default=PrintRunState.PENDING)
    copies_done: Mapped[int] = mapped_column(Integer, default=0)
    pages_per_copy: Mapped[int | None] = mapped_column(Integer, default=None)
    pdf_key: Mapped[str | None] = mapped_column(String(500), default=None)  # a storage key
    error: Mapped[str | None] = mapped_column(Text, default=None)
    ordered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship(lazy="joined")


class Sheet(Base):
    """One printed copy: its random id and the print run it came from."""

    __tablename__ = "sheets"

    sheet_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    print_run_id: Mapped[int] = mapped_column(ForeignKey("print_runs.id"), index=True)
    copy: Mapped[int] = mapped_column(Integer)  # 1-based position in the run's PDF
    returned_at: Mapped[datetime | None] = mapped_column(default=None)
    # the keyed hash of the code on this copy's receipt slip (never the code); deleted by the purge
    receipt_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)


class Job(Base):
    """A unit of background work, claimed by one worker at a time under a lease."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(state_column(JobState), default=JobState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ScanFile(Base):
    """One uploaded or dropped file, kept content-addressed until the retention purge."""

    __tablename__ = "scan_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    state: Mapped[ScanFileState] = mapped_column(state_column(ScanFileState), default=ScanFileState.PENDING)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None, index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)


class ScanPage(Base):
    """One page of a scan file, and what became of it."""

    __tablename__ = "scan_pages"
    __table_args__ = (UniqueConstraint("scan_file_id", "source_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_file_id: Mapped[int] = mapped_column(ForeignKey("scan_files.id", ondelete="CASCADE"), index=True)
    source_index: Mapped[int] = mapped_column(Integer)
    state: Mapped[ScanPageState] = mapped_column(state_column(ScanPageState), default=ScanPageState.PENDING,
                                                 index=True)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    questionnaire: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[str | None] = mapped_column(String(32), default=None)
    variant: Mapped[str | None] = mapped_column(String(32), default=None)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    sheet_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), default=None, index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    dpi: Mapped[float | None] = mapped_column(default=None)
    bilevel: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image_key: Mapped[str | None] = mapped_column(String(500), default=None)  # a storage key
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class Response(Base):
    """One returned copy of a questionnaire: the pages of one sheet id, read."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    sheet_id: Mapped[str] = mapped_column(String(16), index=True)
    questionnaire: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    variant: Mapped[str] = mapped_column(String(32))
    pages_expected: Mapped[int] = mapped_column(Integer)
    # a second response with the same sheet id but different answers (a photocopied form)
    conflict_of: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FieldReading(Base):
    """The current reading of one field of one response: value, confidence and state."""

    __tablename__ = "field_readings"
    # the queue walks this index in order (least certain first) and stops at the screen's limit
    __table_args__ = (UniqueConstraint("response_id", "field_id"),
                      Index("ix_field_readings_queue", "state", "confidence", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"v": value}
    confidence: Mapped[float] = mapped_column(default=0.0)
    state: Mapped[FieldState] = mapped_column(state_column(FieldState), default=FieldState.QUEUED, index=True)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    suggestion: Mapped[str | None] = mapped_column(Text, default=None)
    crop_key: Mapped[str | None] = mapped_column(String(500), default=None)  # a storage key
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contribution(Base):
    """One written answer (or one part of a split answer) on its way to a conversation area.

    ``response_id`` ties it to its response inside the service only: nothing delivered or
    shown to a moderator carries the response, its sheet, batch or time.
    """

    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("response_id", "field_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    part: Mapped[int] = mapped_column(Integer, default=0)  # 0, or 1, 2 … for the parts of a split answer
    area: Mapped[str | None] = mapped_column(String(100), default=None)  # None: no area (a moderator moves it)
    text: Mapped[str] = mapped_column(Text)  # what will be posted
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[ContributionState] = mapped_column(state_column(ContributionState), index=True)
    spot_check: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # why it was withheld
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationAction(Base):
    """Who did what to which contribution, and when (administrators read it; never exported)."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("contributions.id", ondelete="SET NULL"), default=None, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None,
                                                index=True)
    action: Mapped[str] = mapped_column(String(16))
    old_text: Mapped[str | None] = mapped_column(Text, default=None)
    new_text: Mapped[str | None] = mapped_column(Text, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxEntry(Base):
    """A contribution's delivery to the conversation: written in the transaction that made it ready."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), unique=True)
    key: Mapped[str] = mapped_column(String(50), unique=True)  # the idempotency key the target sees
    target: Mapped[str] = mapped_column(String(16))
    state: Mapped[OutboxState] = mapped_column(state_column(OutboxState), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    remote_id: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class Lease(Base):
    """One person's hold on one verification task, so that two people never work on the same one.

    ``task`` names what is held (``field:<id>``, ``page:<id>``); the primary key makes a
    second hold impossible. A hold runs out at ``expires_at`` unless renewed.
    """

    __tablename__ = "leases"

    task: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FieldChange(Base):
    """The audit log: which staff account changed which field from what to what, and when.

    Read by administrators only; never part of an export for analysts or of anything posted.
    """

    __tablename__ = "field_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_reading_id: Mapped[int | None] = mapped_column(
        ForeignKey("field_readings.id", ondelete="SET NULL"), default=None, index=True)
    response_id: Mapped[int] = mapped_column(Integer, index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None,
                                                index=True)
    action: Mapped[str] = mapped_column(String(16))  # verified, illegible, flagged
    old_value: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"v": value}
    new_value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    old_state: Mapped[str] = mapped_column(String(16))
    new_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Keying(Base):
    """One person's typing of a written answer under double-blind keying (never shown to the other)."""

    __tablename__ = "keyings"
    __table_args__ = (UniqueConstraint("field_reading_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_reading_id: Mapped[int] = mapped_column(ForeignKey("field_readings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None,
                                                index=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"v": text}
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Purge(Base):
    """One run of the retention purge: what it deleted, counted (never which respondent's)."""

    __tablename__ = "purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, cli, web, api
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    rule: Mapped[str] = mapped_column(String(200))  # what was due, in words
    include_waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    files: Mapped[int] = mapped_column(Integer, default=0)  # scan files whose originals were deleted
    pages: Mapped[int] = mapped_column(Integer, default=0)  # page pictures
    crops: Mapped[int] = mapped_column(Integer, default=0)  # field crops
    blanks: Mapped[int] = mapped_column(Integer, default=0)  # blank-form files
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    kept_waiting: Mapped[int] = mapped_column(Integer, default=0)  # due files kept: a person still needs them


class DeliveryRun(Base):
    """One delivery run that tried to send anything (and the latest idle sweep), for the forum's health."""

    __tablename__ = "delivery_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    target: Mapped[str] = mapped_column(String(16))
    tried: Mapped[int] = mapped_column(Integer, default=0)  # entries this run claimed
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    retrying: Mapped[int] = mapped_column(Integer, default=0)
    dead: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)  # the target's words, never an answer


class ReceiptLookups(Base):
    """How many receipt lookups there were a day, by outcome: never a code, never an address."""

    __tablename__ = "receipt_lookups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
