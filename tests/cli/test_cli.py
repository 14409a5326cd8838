"""The command line, in the exact forms outside harnesses use, and its bad inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms_service.cli import main
from tests.conftest import REPO, SHIPPED, add_version


def test_db_upgrade_on_an_empty_home(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "Database is at revision 0012" in result.output
    assert cli("db", "upgrade").exit_code == 0  # idempotent


def test_user_add_with_password_from_stdin_and_list(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("user", "add", "maria", "--role", "verifier", "--role", "moderator", "--password-stdin",
                 input="a very long password\n")
    assert result.exit_code == 0, result.output
    assert "Added maria (moderator, verifier)" in result.output
    assert "a very long password" not in result.output
    listing = cli("user", "list")
    assert "maria\tmoderator,verifier" in listing.output


def test_user_add_without_a_terminal_prints_a_generated_password(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("user", "add", "sam", "--role", "analyst", input="")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("Password: ")


def test_user_add_bad_inputs(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("user", "add", "x1", "--role", "wizard", "--password-stdin", input="a very long password\n")
    assert result.exit_code == 2
    assert "'wizard' is not a role; the roles are administrator" in result.output
    result = cli("user", "add", "x1", "--role", "verifier", "--password-stdin", input="short\n")
    assert result.exit_code == 2 and "at least 10 characters" in result.output
    result = cli("user", "add", "x1", "--role", "verifier", "--password-stdin", input="Password123\n")
    assert result.exit_code == 2 and "one of the most common ones" in result.output
    cli("user", "add", "x1", "--role", "verifier", "--password-stdin", input="a very long password\n")
    result = cli("user", "add", "x1", "--role", "verifier", "--password-stdin", input="a very long password\n")
    assert result.exit_code == 2 and "There is already a user called 'x1'" in result.output


def test_token_create_prints_the_token_last(cli) -> None:  # type: ignore[no-untyped-def]
    cli("user", "add", "api", "--role", "verifier", "--password-stdin", input="a very long password\n")
    result = cli("token", "create", "api")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("fst_")
    missing = cli("token", "create", "ghost")
    assert missing.exit_code == 2 and "There is no user called 'ghost'" in missing.output


def test_accounts_from_the_command_line(cli, cli_env) -> None:  # type: ignore[no-untyped-def]
    from forms_service.config import load_config
    from forms_service.context import ServiceContext
    from forms_service.services import users

    cli("user", "add", "ada", "--role", "administrator", "--password-stdin", input="a very long password\n")
    cli("user", "add", "vic", "--role", "verifier", "--password-stdin", input="a very long password\n")
    changed = cli("user", "set-password", "vic", "--password-stdin", input="another long password\n")
    assert changed.exit_code == 0 and changed.output.strip() == "Set a new password for vic."
    assert "another long password" not in changed.output
    short = cli("user", "set-password", "vic", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    no_stdin = cli("user", "set-password", "vic", input="")
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.output
    token = cli("token", "create", "vic").output.splitlines()[-1]
    ctx = ServiceContext.from_config(load_config(cli_env))
    try:
        assert users.authenticate(ctx, "vic", "another long password") is not None
        assert users.user_for_token(ctx, token) is not None
        assert cli("user", "disable", "vic").exit_code == 0
        assert users.authenticate(ctx, "vic", "another long password") is None  # no sign-in
        assert users.user_for_token(ctx, token) is None  # no token
        assert "vic\tverifier  (disabled)" in cli("user", "list").output
        assert cli("user", "enable", "vic").exit_code == 0
        assert users.user_for_token(ctx, token) is not None
        last = cli("user", "disable", "ada")
        assert last.exit_code == 2 and "only active administrator" in last.output
        listing = cli("token", "list").output
        assert listing.startswith("1\tvic\tcreated ") and "last used" in listing and token not in listing
        revoked = cli("token", "revoke", "1")
        assert revoked.exit_code == 0 and revoked.output.strip() == "Revoked API token 1 of vic."
        assert users.user_for_token(ctx, token) is None
        assert cli("token", "list").output.rstrip().endswith("revoked")
        assert cli("token", "revoke", "99").exit_code == 2
    finally:
        ctx.close()


def test_questionnaire_list_show_validate(cli) -> None:  # type: ignore[no-untyped-def]
    listing = cli("questionnaire", "list")
    assert listing.exit_code == 0
    assert "big-leeds-conversation\t2026-11\tnot printed yet\tThe Big Leeds Conversation" in listing.output
    shown = cli("questionnaire", "show", "big-leeds-conversation")
    assert shown.exit_code == 0
    assert "values.academic-excellence\tsingle_choice = 1 | 2 | 3 | 4 | 5 | dont-know" in shown.output
    as_json = cli("questionnaire", "show", "big-leeds-conversation", "--json")
    assert '"id": "q_values"' in as_json.output
    valid = cli("questionnaire", "validate", str(SHIPPED))
    assert valid.exit_code == 0 and "valid (big-leeds-conversation version 2026-11" in valid.output


def test_questionnaire_validate_reports_every_problem_with_its_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.yaml"
    text = SHIPPED.read_text().replace("type: rating", "type: ranking").replace("pictogram: microscope", "pictogram: zzz")
    broken.write_text(text)
    result = cli("questionnaire", "validate", str(broken))
    assert result.exit_code == 2
    assert f"{broken}, line " in result.output and "sections.1.questions.0.type" in result.output
    assert "Traceback" not in result.output


def test_unknown_questionnaire(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("questionnaire", "show", "no-such-form")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: There is no questionnaire called 'no-such-form' (known: big-leeds-conversation)."
    )


def test_a_broken_definition_in_the_layouts_folder_is_named(cli, layouts: Path) -> None:  # type: ignore[no-untyped-def]
    path = add_version(layouts, "2027-01", ("title: The Big", "titel: The Big"))
    result = cli("questionnaire", "list")
    assert result.exit_code == 2 and f"{path}, line 7: 'titel' is not a known key here" in result.output


# -- the shipped questionnaire, whatever FORMS_SERVICE_LAYOUTS points at --------------------


@pytest.fixture
def empty_layouts(tmp_path: Path) -> Path:
    folder = tmp_path / "new-layouts"
    folder.mkdir()
    return folder


def test_an_empty_layouts_folder_still_sets_up_and_prints_the_shipped_questionnaire(
    cli_env: dict[str, str], empty_layouts: Path, tmp_path: Path
) -> None:
    env = {**cli_env, "FORMS_SERVICE_LAYOUTS": str(empty_layouts)}
    setup = _run(["setup"], env)
    assert setup.returncode == 0, setup.stderr
    assert "Questionnaire big-leeds-conversation 2026-11 (shipped with forms-service): added.\n" in setup.stdout
    assert "Questionnaire big-leeds-conversation 2026-12 (shipped with forms-service): added.\n" in setup.stdout
    out = tmp_path / "x.pdf"
    render = _run(["render", "big-leeds-conversation", "--variant", "standard", "--output", str(out),
                   "--copies", "2", "--version", "2026-11"], env)
    assert render.returncode == 0, render.stderr
    written = empty_layouts / "big-leeds-conversation" / "2026-11" / "standard.json"
    assert f"Layout: {written}" in render.stdout
    assert out.read_bytes().startswith(b"%PDF")
    assert written.read_text() == (REPO / "layouts" / "big-leeds-conversation" / "2026-11" / "standard.json").read_text()
    assert sorted(p.relative_to(empty_layouts).as_posix() for p in empty_layouts.rglob("*")) == [
        "big-leeds-conversation", "big-leeds-conversation/2026-11", "big-leeds-conversation/2026-11/standard.json"]


def test_a_definition_in_the_layouts_folder_is_loaded_beside_the_shipped_one(
    cli_env: dict[str, str], empty_layouts: Path
) -> None:
    added = add_version(empty_layouts, "2027-01", ("title: The Big", "title: The Second Big"))
    env = {**cli_env, "FORMS_SERVICE_LAYOUTS": str(empty_layouts)}
    result = CliRunner().invoke(main, ["setup"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:4] == [
        "Questionnaire big-leeds-conversation 2026-11 (shipped with forms-service): added.",
        "Questionnaire big-leeds-conversation 2026-12 (shipped with forms-service): added.",
        f"Questionnaire big-leeds-conversation 2027-01 ({added}): added.",
    ]
    listing = CliRunner().invoke(main, ["questionnaire", "list"], env=env, catch_exceptions=False)
    assert listing.output.splitlines() == [
        "big-leeds-conversation\t2026-11\tnot printed yet\tThe Big Leeds Conversation",
        "big-leeds-conversation\t2026-12\tnot printed yet\tThe Big Leeds Conversation",
        "big-leeds-conversation\t2027-01\tnot printed yet\tThe Second Big Leeds Conversation",
    ]


def test_a_changed_copy_of_the_shipped_version_is_refused(cli_env: dict[str, str], empty_layouts: Path) -> None:
    copy = empty_layouts / "big-leeds-conversation" / "2026-11" / "questionnaire.yaml"
    copy.parent.mkdir(parents=True)
    copy.write_text(SHIPPED.read_text().replace("title: The Big", "title: Our Big"))
    env = {**cli_env, "FORMS_SERVICE_LAYOUTS": str(empty_layouts)}
    result = CliRunner().invoke(main, ["questionnaire", "list"], env=env, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {copy} defines big-leeds-conversation version 2026-11, which ships with forms-service "
        f"as {SHIPPED} and differs from it: a shipped version cannot be changed, so copy it to a new "
        f"version folder (and set 'version' inside) and change that.\n"
    )
    copy.write_bytes(SHIPPED.read_bytes())  # an identical copy (an older installation's) is fine
    result = CliRunner().invoke(main, ["questionnaire", "list"], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and result.output.count("big-leeds-conversation\t2026-11") == 1


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    exe = Path(sys.executable).with_name("forms-service")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full, timeout=120)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/none",
         "error: Cannot connect to the database at postgresql+psycopg://nobody@127.0.0.1:1/none"),
        ("not a url", "error: DATABASE_URL 'not a url' is not a database address"),
        ("oracle+nothing://x@y/z", "names a kind of database this service does not support"),
    ],
)
def test_wrong_database_url(cli_env: dict[str, str], url: str, message: str) -> None:
    result = _run(["user", "list"], {**cli_env, "DATABASE_URL": url})
    assert result.returncode == 5
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_password_in_database_url_is_never_printed(cli_env: dict[str, str]) -> None:
    result = _run(["user", "list"], {**cli_env, "DATABASE_URL": "postgresql+psycopg://u:hunter22@127.0.0.1:1/x"})
    assert result.returncode == 5 and "hunter22" not in result.stderr and "***" in result.stderr


def test_unwritable_home(cli_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run(["user", "list"], {**cli_env, "FORMS_SERVICE_HOME": str(blocker / "home")})
    assert result.returncode == 3
    assert result.stderr.startswith(f"error: FORMS_SERVICE_HOME ({blocker / 'home'}) is not a folder")
    assert "Traceback" not in result.stderr


def test_missing_tesseract_is_explained(cli_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _run(["setup"], {**cli_env, "PATH": str(empty)})
    assert result.returncode == 4
    assert "tesseract (the OCR program) is not installed" in result.stderr
    assert "apt-get install tesseract-ocr tesseract-ocr-eng" in result.stderr


def test_setup_makes_an_administrator_once(cli_env: dict[str, str]) -> None:
    first = _run(["setup"], cli_env)
    assert first.returncode == 0, first.stderr
    assert "Questionnaire big-leeds-conversation 2026-11 (shipped with forms-service): added." in first.stdout
    assert "user name: admin" in first.stdout and "password:" in first.stdout
    second = _run(["setup"], cli_env)
    assert second.returncode == 0 and "password:" not in second.stdout
    assert "2026-11 (shipped with forms-service): unchanged." in second.stdout


def test_commands_are_shared_with_flask(cli_env: dict[str, str]) -> None:
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run([str(flask), "--app", "forms_service.wsgi", "questionnaire", "list"],
                            capture_output=True, text=True, env={**os.environ, **cli_env}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "big-leeds-conversation\t2026-11" in result.stdout
