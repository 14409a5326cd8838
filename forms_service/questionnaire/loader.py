"""Load questionnaire definitions from YAML, with errors that name file, line and problem.

The YAML is parsed with ruamel.yaml (which remembers where every key and item
sits), validated with the pydantic model, and every validation error is mapped
back to the line it comes from.

Definitions come from two places: those shipped inside the package
(``forms_service/questionnaire/shipped/<id>/<version>/questionnaire.yaml``, read
with importlib.resources, so they are there whatever the layouts folder holds),
and those in the layouts folder (``<id>/<version>/questionnaire.yaml``), which
add to them. :func:`known_definitions` gives both.

Must never: guess a fix for a broken definition, accept unknown keys, or let a
file in the layouts folder change a shipped version.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import QuestionnaireError
from .model import FORMAT, Questionnaire

DEFINITION_NAME = "questionnaire.yaml"
#: the package folder, beside this module, that holds the shipped definitions
SHIPPED_FOLDER = "shipped"


@dataclass(frozen=True)
class LoadedDefinition:
    questionnaire: Questionnaire
    path: Path
    sha256: str
    #: shipped inside the package (not found in the layouts folder)
    shipped: bool = False

    @property
    def source(self) -> str:
        """Where the definition comes from, for a person: "shipped with forms-service" or its file."""
        return "shipped with forms-service" if self.shipped else str(self.path)


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


def shipped_definitions(pictogram_exists: Callable[[str], bool] | None = None) -> list[LoadedDefinition]:
    """The definitions shipped inside the package, in order of id and version."""
    root = resources.files("forms_service.questionnaire").joinpath(SHIPPED_FOLDER)
    found = []
    for questionnaire in sorted(root.iterdir(), key=lambda t: t.name):
        if not questionnaire.is_dir():
            continue
        for version in sorted(questionnaire.iterdir(), key=lambda t: t.name):
            file = version.joinpath(DEFINITION_NAME)
            if file.is_file():
                loaded = parse_definition(file.read_bytes(), Path(str(file)), pictogram_exists)
                found.append(LoadedDefinition(loaded.questionnaire, loaded.path, loaded.sha256, shipped=True))
                _check_place(found[-1])
    return found


def known_definitions(
    layouts: str | Path, pictogram_exists: Callable[[str], bool] | None = None
) -> list[LoadedDefinition]:
    """The shipped definitions, then those in the layouts folder that add to them.

    Every file is read and checked before this returns, so a problem in one
    stops all of them. A definition must sit in the ``<id>/<version>`` folder
    of its own id and version. A file in the layouts folder with the id and
    version of a shipped definition is left out when its bytes are the same
    (an older installation's copy) and refused when they differ: a shipped
    version cannot be changed, only followed by a new version.
    """
    shipped = shipped_definitions(pictogram_exists)
    by_version = {(d.questionnaire.id, d.questionnaire.version): d for d in shipped}
    added = []
    for path in find_definitions(layouts):
        loaded = load_definition(path, pictogram_exists)
        _check_place(loaded)
        q = loaded.questionnaire
        twin = by_version.get((q.id, q.version))
        if twin is None:
            added.append(loaded)
        elif twin.sha256 != loaded.sha256:
            raise QuestionnaireError(
                f"{path} defines {q.id} version {q.version}, which ships with forms-service as "
                f"{twin.path} and differs from it: a shipped version cannot be changed, so copy it "
                f"to a new version folder (and set 'version' inside) and change that."
            )
    return [*shipped, *added]


def _check_place(loaded: LoadedDefinition) -> None:
    q = loaded.questionnaire
    folder = loaded.path.parent
    if (folder.parent.name, folder.name) != (q.id, q.version):
        root = f"forms_service/questionnaire/{SHIPPED_FOLDER}" if loaded.shipped else "the layouts folder"
        raise QuestionnaireError(
            f"{loaded.path}: defines {q.id} version {q.version}, so it belongs in "
            f"{q.id}/{q.version}/{DEFINITION_NAME} under {root}."
        )


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
