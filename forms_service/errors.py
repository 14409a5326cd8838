"""Every failure the service expects, as a class with a message for the person reading it.

The CLI prints ``str(error)`` as one line (no traceback) and exits with
``error.exit_code``; the web pages and the API show the same sentence. A
message says what is wrong and how to fix it, in the words of its reader.

Must never: put answer text or a sheet id into a message that is logged.
"""

from __future__ import annotations


class FormsServiceError(Exception):
    """Base class: an expected failure with a message written for its reader."""

    exit_code = 1
    http_status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FormsServiceError):
    """The service is set up wrongly (home folder, database address, ...)."""

    exit_code = 3
    http_status = 500
    code = "configuration"


class SystemDependencyError(ConfigurationError):
    """A program the service needs (tesseract, ...) is missing from the system."""

    exit_code = 4


class DatabaseError(ConfigurationError):
    """The database cannot be reached or is not at the expected revision."""

    exit_code = 5


class QuestionnaireError(FormsServiceError):
    """A questionnaire definition is malformed or invalid."""

    exit_code = 2
    code = "invalid_questionnaire"

    def __init__(
        self, message: str, problems: list[str] | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.problems = problems or [message]
        self.line = line


class NotFound(FormsServiceError):
    exit_code = 2
    http_status = 404
    code = "not_found"


class InvalidInput(FormsServiceError):
    """Input from a person or a script that cannot be accepted as given."""

    exit_code = 2
    http_status = 400
    code = "invalid_input"


class Conflict(FormsServiceError):
    exit_code = 2
    http_status = 409
    code = "conflict"


class FrozenVersionError(Conflict):
    """A printed questionnaire version was changed; changes need a new version."""

    code = "frozen_version"


class RenderError(FormsServiceError):
    """A questionnaire cannot be drawn as asked (text does not fit, ...)."""

    exit_code = 2
    http_status = 422
    code = "render_failed"
