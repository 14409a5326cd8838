"""The states of what the service tracks, one enumeration per table, named from the product vocabulary.

Only a field reading is ever ``queued`` (waiting for a person); a job, print run,
scan file or page that has not been processed yet is ``pending``. The values are
what the database, the export record and the API carry, so they never change
once released: a new state is added, never renamed.

Pure: no Flask, no SQL, no files.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """A unit of background work."""

    PENDING = "pending"  # waiting for a worker
    RUNNING = "running"  # a worker holds its lease
    DONE = "done"
    FAILED = "failed"  # ran out of attempts, or failed with a reason for a person

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


class PrintRunState(StrEnum):
    """A batch of printed copies."""

    PENDING = "pending"  # ordered, not drawn yet
    RUNNING = "running"  # being drawn
    DONE = "done"  # its PDF is ready
    FAILED = "failed"


class ScanFileState(StrEnum):
    """One uploaded or dropped scan file."""

    PENDING = "pending"  # stored, its pages not all read yet
    READ = "read"  # every page has an outcome (see its pages)
    REJECTED = "rejected"  # the file cannot be read at all, with its reason
    PURGED = "purged"  # its images were deleted by the retention purge


class ScanPageState(StrEnum):
    """One page of a scan file, and what became of it."""

    PENDING = "pending"  # not read yet
    READ = "read"  # joined the response of its sheet id
    DUPLICATE = "duplicate"  # the same page of the same sheet with the same content, read before
    UNIDENTIFIED = "unidentified"  # waiting for a person to say which page it is
    SET_ASIDE = "set_aside"  # a person judged that only a new scan of it can be read
    NOT_OURS = "not_ours"  # a person judged it is not one of our forms (kept, and logged)
    REJECTED = "rejected"  # cannot be read, with its reason


class FieldState(StrEnum):
    """The reading of one field of one response (the export record's ``state``)."""

    AUTO = "auto"  # accepted by the machine
    QUEUED = "queued"  # waiting for a person
    VERIFIED = "verified"  # a person confirmed or corrected it

    @property
    def final(self) -> bool:
        """Will no later reading of the machine change it?"""
        return self is FieldState.VERIFIED


class ContributionState(StrEnum):
    """A written answer on its way to the conversation (``contributions.state``)."""

    HELD = "held"  # the screen found something, or it was drawn for a spot check: a moderator decides
    PASSED = "passed"  # the screen found nothing: ready to deliver
    RELEASED = "released"  # a moderator released it (perhaps edited or redacted): ready to deliver
    WITHHELD = "withheld"  # a moderator withheld it, with a reason: never delivered
    SPLIT = "split"  # a moderator split it into several contributions, which replace it


READY = (ContributionState.PASSED, ContributionState.RELEASED)
"""The only states the delivery step may see."""


class OutboxState(StrEnum):
    """A contribution's delivery (``outbox.state``)."""

    PENDING = "pending"  # to send (again) at ``next_attempt_at``
    SENT = "sent"  # the target has it
    DEAD = "dead"  # a dead letter: refused, or out of attempts; an administrator decides


class ResponseStatus(StrEnum):
    """A response as a whole (the export record's ``status``)."""

    COMPLETE = "complete"  # every field auto or verified
    NEEDS_VERIFICATION = "needs_verification"  # some field queued, or a conflict for a person
    INCOMPLETE = "incomplete"  # pages missing


def values(enum: type[StrEnum]) -> list[str]:
    """The stored values of an enumeration (for SQLAlchemy's ``Enum(values_callable=...)``)."""
    return [member.value for member in enum]
