"""Load questionnaire definitions from YAML, with errors that name file, line and problem.

The YAML is parsed with ruamel.yaml (which remembers where every key and item
sits), validated with the pydantic model, and every validation error is mapped
back to the line it comes from.

Must never: guess a fix for a broken definition, or accept unknown keys.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import QuestionnaireError
from .model import FORMAT, Questionnaire

DEFINITION_NAME = "questionnaire.yaml"


@dataclass(frozen=True)
class LoadedDefinition:
    questionnaire: Questionnaire
    path: Path
    sha256: str


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str


def load_definition(
    path: str | Path, pictogram_exists: Callable[[str], bool] | None = None
) -> LoadedDefinition:
    """Read and validate one definition file; raise QuestionnaireError on any problem.

    With ``pictogram_exists``, every pictogram the definition names must be one of
    the set the renderer ships.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise QuestionnaireError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise QuestionnaireError(f"{path}: is a folder, not a questionnaire file.") from None
    except OSError as exc:
        raise QuestionnaireError(f"{path}: cannot be read ({exc.strerror}).") from None
    return parse_definition(raw, path, pictogram_exists)


def parse_definition(
    raw: bytes, path: Path, pictogram_exists: Callable[[str], bool] | None = None
) -> LoadedDefinition:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(f"{path}: is not UTF-8 text (byte {exc.start}).") from None
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        what = (exc.problem or exc.context or "not valid YAML").strip()
        if "duplicate key" in what or "found duplicate key" in str(exc):
            what = "a key is given twice in the same block"
        raise QuestionnaireError(f"{path}{where}: {what}.") from None
    except YAMLError as exc:
        raise QuestionnaireError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(data, CommentedMap):
        raise QuestionnaireError(
            f"{path}, line 1: a questionnaire definition is a YAML mapping starting with "
            f"'format: {FORMAT}'."
        )
    fmt = data.get("format")
    if fmt != FORMAT:
        line = _line_of(data, ("format",))
        where = f", line {line}" if line else ""
        raise QuestionnaireError(
            f"{path}{where}: 'format' must be {FORMAT!r} (found {fmt!r})."
        )
    try:
        q = Questionnaire.model_validate(_plain(data))
    except ValidationError as exc:
        problems = sorted(
            _problems(exc, data), key=lambda p: (p.line if p.line is not None else 0)
        )
        first = problems[0]
        lines = [_format(path, p) for p in problems]
        raise QuestionnaireError("\n".join(lines), problems=lines, line=first.line) from None
    if pictogram_exists is not None:
        missing = [
            Problem(line, f"there is no pictogram called {name!r} (see docs/questionnaire-format.md).")
            for name, line in _pictograms(data)
            if not pictogram_exists(name)
        ]
        if missing:
            lines = [_format(path, p) for p in missing]
            raise QuestionnaireError("\n".join(lines), problems=lines, line=missing[0].line)
    return LoadedDefinition(q, path, hashlib.sha256(raw).hexdigest())


def _pictograms(node: Any) -> Iterator[tuple[str, int | None]]:
    """Every ``pictogram:`` value in the parsed YAML, with its line."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if key == "pictogram" and isinstance(value, str):
                yield value, node.lc.key(key)[0] + 1
            else:
                yield from _pictograms(value)
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from _pictograms(item)


def find_definitions(root: str | Path) -> Iterator[Path]:
    """Definition files under a layouts folder: ``<id>/<version>/questionnaire.yaml``."""
    root = Path(root)
    if not root.is_dir():
        return
    yield from sorted(root.glob(f"*/*/{DEFINITION_NAME}"))


def _format(path: Path, p: Problem) -> str:
    where = f", line {p.line}" if p.line else ""
    return f"{path}{where}: {p.message}"


def _problems(exc: ValidationError, data: CommentedMap) -> Iterator[Problem]:
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        yield Problem(_line_of(data, loc), _message(err, loc))


def _message(err: Any, loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    name = ".".join(str(p) for p in loc) or "the file"
    if kind == "missing":
        return f"{name!s} is missing."
    if kind == "extra_forbidden":
        return f"{loc[-1]!r} is not a known key here (check its spelling)."
    if kind == "string_pattern_mismatch":
        what = loc[-1] if loc else "value"
        return (
            f"{what} {err.get('input')!r} is not allowed: use lowercase letters, digits, '-' "
            f"and '_' (ids), starting with a letter or digit."
        )
    if kind == "enum":
        return f"{name}: {err['msg'][0].lower()}{err['msg'][1:]} (found {err.get('input')!r})."
    if kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{msg[0].upper()}{msg[1:]}." if not msg.endswith(".") else msg
    if kind in ("too_short", "too_long"):
        return f"{name}: {err['msg'][0].lower()}{err['msg'][1:]}."
    return f"{name}: {err['msg']}."


def _line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest part of ``loc`` found in the parsed YAML."""
    node = data
    line: int | None = getattr(getattr(data, "lc", None), "line", None)
    line = line + 1 if line is not None else None
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool | int | float) or node is None:
        return node
    return str(node)
