"""The command line (`forms-service`), a thin adapter over the service layer.

Outside harnesses script these exact forms (docs/cli.md). Every expected
failure prints one sentence on standard error and exits non-zero; no traceback.
The same commands are available as ``flask --app forms_service.wsgi ...``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from .config import load_config
from .context import ServiceContext
from .errors import DatabaseError, FormsServiceError, InvalidInput
from .states import JobState


class ServiceGroup(click.Group):
    """A click group that turns expected failures into one readable line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FormsServiceError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
            click.echo(f"error: the database refused the request ({reason}).", err=True)
            ctx.exit(DatabaseError.exit_code)


@contextmanager
def service_context(*, sync: bool = True) -> Iterator[ServiceContext]:
    """Open the configured database (creating a new one), and load the definitions."""
    ctx = ServiceContext.from_config(load_config())
    try:
        ctx.db.check()
        if ctx.db.current_revision() is None:
            ctx.db.upgrade()
        else:
            ctx.db.require_current()
        if sync:
            from .services.questionnaires import sync_definitions

            sync_definitions(ctx)
        yield ctx
    finally:
        ctx.close()


def progress_bar(total: int, label: str) -> Any:
    """A progress bar on a terminal; silent when output goes to a file or a pipe."""
    return click.progressbar(
        length=total, label=label, file=sys.stderr, hidden=not sys.stderr.isatty(),
        show_pos=True, show_eta=True,
    )


@click.group(cls=ServiceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="forms-service")
def main() -> None:
    """forms-service: print paper questionnaires, read the scans, post answers anonymously.

    Data lives in FORMS_SERVICE_HOME (default ./instance), layout files and
    questionnaire definitions that add to the shipped ones in
    FORMS_SERVICE_LAYOUTS (default ./layouts); DATABASE_URL overrides the
    embedded SQLite database.
    """


# -- database and set-up ------------------------------------------------


@main.group(cls=ServiceGroup)
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database or upgrade it to the newest schema."""
    ctx = ServiceContext.from_config(load_config())
    try:
        revision = ctx.db.upgrade()
    finally:
        ctx.close()
    click.echo(f"Database is at revision {revision}.")


@main.command()
@click.option("--admin-name", default="admin", show_default=True, help="Name of the first administrator.")
def setup(admin_name: str) -> None:
    """Prepare everything `serve` needs: database, questionnaires, first administrator."""
    from .ocr.tesseract import tesseract_version
    from .services import users
    from .services.questionnaires import sync_definitions

    tesseract_version()
    ctx = ServiceContext.from_config(load_config())
    try:
        revision = ctx.db.upgrade()
        click.echo(f"Database ready (revision {revision}) at {ctx.db.url_for_display}.")
        for r in sync_definitions(ctx):
            click.echo(f"Questionnaire {r.questionnaire} {r.version} ({r.source}): {r.outcome}.")
        password = users.ensure_administrator(ctx, admin_name)
    finally:
        ctx.close()
    if password:
        click.echo("")
        click.echo("An administrator account was created. Sign in the first time with")
        click.echo(f"  user name: {admin_name}")
        click.echo(f"  password:  {password}")
        click.echo("and change the password at once (Account > Change password).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web app and the API (waitress), with the embedded background worker."""
    import waitress

    from .app import create_app
    from .ocr.tesseract import tesseract_version

    tesseract_version()
    config = load_config()
    probe = ServiceContext.from_config(config)
    try:
        probe.db.require_current()
    finally:
        probe.close()
    app = create_app(config, start_worker=True)
    click.echo(f"forms-service is serving on http://{host}:{port} (press Ctrl+C to stop).")
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="forms-service")
    except OSError as exc:
        raise FormsServiceError(
            f"Cannot listen on {host}:{port} ({exc.strerror}); is another server using that port? "
            f"Choose another with --port."
        ) from None
    finally:
        worker = app.extensions.get("forms_service_worker")
        if worker is not None:
            worker.stop()


@main.command("worker")
@click.option("--concurrency", default=None, type=click.IntRange(1, 256),
              help="Jobs run at once (default: the number of CPUs with Celery, 1 otherwise).")
def worker_command(concurrency: int | None) -> None:
    """Run background jobs in this process until stopped (Ctrl+C); also reads the watch folder.

    With FORMS_SERVICE_WORKER=celery this is a Celery worker fed through
    FORMS_SERVICE_BROKER_URL; otherwise it polls the database queue.
    """
    import contextlib
    import faulthandler
    import io
    import signal

    from .ocr.tesseract import tesseract_version

    # `kill -USR1 <pid>` prints what every thread is doing (for an operator whose worker seems stuck)
    with contextlib.suppress(AttributeError, OSError, ValueError, io.UnsupportedOperation):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # needs a real standard error
    tesseract_version()
    config = load_config()
    ctx = ServiceContext.from_config(config)
    try:
        ctx.db.require_current()
        if config.worker == "celery":
            ctx.close()
            from .services.jobs import run_celery_worker

            status = run_celery_worker(config, concurrency)
            if status:
                sys.exit(status)
            return
        from .services.jobs import run_workers

        click.echo(f"forms-service worker is running {concurrency or 1} job(s) at a time from the "
                   f"database queue (press Ctrl+C to stop).")
        run_workers(ctx, concurrency or 1, say=click.echo)
    finally:
        ctx.close()


# -- users and tokens -----------------------------------------------------


@main.group(cls=ServiceGroup)
def user() -> None:
    """Staff accounts and roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              help="A role to give (repeat for several): administrator, facilities-manager, "
                   "accessibility-coordinator, verifier, moderator, analyst.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add a user NAME with one or more roles."""
    from .services import users

    users.check_roles(list(roles))
    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        import secrets

        password, generated = secrets.token_urlsafe(12), True
    with service_context(sync=False) as ctx:
        info = users.add_user(ctx, name, list(roles), password)
    click.echo(f"Added {info.name} ({', '.join(sorted(info.roles))}).")
    if generated:
        click.echo(f"Password: {password}")


@user.command("list")
def user_list() -> None:
    """List users and their roles."""
    from .services import users

    with service_context(sync=False) as ctx:
        rows = users.list_users(ctx)
    if not rows:
        click.echo("No users yet: add one with 'forms-service user add NAME --role administrator'.")
    for u in rows:
        state = "" if u.active else "  (disabled)"
        click.echo(f"{u.name}\t{','.join(sorted(u.roles))}{state}")


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_set_password(name: str, password_stdin: bool) -> None:
    """Set a new password for user NAME."""
    from .services import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        raise InvalidInput("Give the new password on standard input with --password-stdin, or run this at a terminal.")
    with service_context(sync=False) as ctx:
        users.set_password(ctx, name, password)
    click.echo(f"Set a new password for {name}.")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable user NAME: no sign-in, no API tokens, until enabled again."""
    _set_active(name, False, f"Disabled {name}: they cannot sign in or use their API tokens.")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Enable user NAME again."""
    _set_active(name, True, f"Enabled {name}.")


def _set_active(name: str, active: bool, said: str) -> None:
    from .services import users

    with service_context(sync=False) as ctx:
        users.set_active(ctx, name, active)
    click.echo(said)


@main.group(cls=ServiceGroup)
def token() -> None:
    """API tokens."""


@token.command("list")
def token_list() -> None:
    """List API tokens: id, user, created, last used, revoked (never the token itself)."""
    from .services import users

    with service_context(sync=False) as ctx:
        rows = users.list_tokens(ctx)
    if not rows:
        click.echo("No API tokens yet: make one with 'forms-service token create NAME'.")
    for t in rows:
        used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id}\t{t.user}\tcreated {t.created_at:%Y-%m-%d %H:%M}\t{used}"
                   f"{chr(9) + 'revoked' if t.revoked else ''}")


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke API token ID (see 'token list'): it stops working at once."""
    from .services import users

    with service_context(sync=False) as ctx:
        info = users.revoke_token(ctx, token_id)
    click.echo(f"Revoked API token {info.id} of {info.user}.")


@token.command("create")
@click.argument("name")
def token_create(name: str) -> None:
    """Create an API token for user NAME; the token is the last line printed."""
    from .services import users

    with service_context(sync=False) as ctx:
        value = users.create_token(ctx, name)
    click.echo(f"API token for {name} (shown once; send it as 'Authorization: Bearer <token>'):")
    click.echo(value)


# -- questionnaires -------------------------------------------------------------


@main.group(cls=ServiceGroup)
def questionnaire() -> None:
    """Questionnaire definitions."""


@questionnaire.command("list")
def questionnaire_list() -> None:
    """List the loaded questionnaires and versions."""
    from .services.questionnaires import list_versions

    with service_context() as ctx:
        rows = list_versions(ctx)
    if not rows:
        click.echo(f"No questionnaires: put definitions under {ctx.config.layouts}/<id>/<version>/questionnaire.yaml.")
    for v in rows:
        frozen = "printed" if v.frozen else "not printed yet"
        click.echo(f"{v.questionnaire}\t{v.version}\t{frozen}\t{v.title}")


@questionnaire.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def questionnaire_validate(file: Path) -> None:
    """Check a questionnaire definition FILE; print every problem with its line."""
    from .errors import QuestionnaireError
    from .services.questionnaires import validate_file

    try:
        loaded = validate_file(file)
    except QuestionnaireError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(exc.exit_code)
    q = loaded.questionnaire
    click.echo(f"{file}: valid ({q.id} version {q.version}, {len(q.questions())} questions, "
               f"{len(q.fields())} fields).")


@questionnaire.command("show")
@click.argument("questionnaire_id", metavar="ID")
@click.option("--version", "version", default=None, help="A version (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the fields as JSON.")
def questionnaire_show(questionnaire_id: str, version: str | None, as_json: bool) -> None:
    """Show a questionnaire's sections, questions and fields."""
    from .services.questionnaires import get_questionnaire, get_version

    with service_context() as ctx:
        info = get_version(ctx, questionnaire_id, version)
        q = get_questionnaire(ctx, questionnaire_id, info.version)
    if as_json:
        click.echo(json.dumps({
            "questionnaire": q.id, "version": q.version, "title": q.title, "printed": info.frozen,
            "fields": [{"id": f.id, "type": f.type.value, "values": list(f.values),
                        "about_you": f.about_you, "feeds": f.feeds} for f in q.fields()],
        }, indent=1))
        return
    click.echo(f"{q.title} ({q.id}, version {q.version}{', printed' if info.frozen else ''})")
    for section in q.sections:
        click.echo(f"\n{section.title}{'  [about you: counted only in aggregate]' if section.about_you else ''}")
        for qu in section.questions:
            click.echo(f"  {qu.id} ({qu.type.value}): {qu.text}")
    click.echo("\nFields:")
    for f in q.fields():
        values = f" = {' | '.join(f.values)}" if f.values else ""
        click.echo(f"  {f.id}\t{f.type.value}{values}")


# -- printing --------------------------------------------------------------------


@main.command()
@click.argument("questionnaire_id", metavar="QUESTIONNAIRE")
@click.option("--variant", required=True, help="standard, large-print or easy-read.")
@click.option("--output", required=True, type=click.Path(path_type=Path), help="The PDF to write.")
@click.option("--version", "version", default=None, help="Questionnaire version (default: the newest).")
@click.option("--copies", default=1, show_default=True, type=int, help="How many copies.")
@click.option("--batch", default=None, help="A label for this print run, e.g. 'Estates night shift'.")
@click.option("--manifest", type=click.Path(path_type=Path), default=None,
              help="Write the print-run record (sheet ids and their PDF pages) to this JSON file.")
def render(questionnaire_id: str, variant: str, output: Path, version: str | None, copies: int,
           batch: str | None, manifest: Path | None) -> None:
    """Draw COPIES copies of a questionnaire variant into one print-ready PDF."""
    from .services import printing

    if output.exists() and output.is_dir():
        raise InvalidInput(f"--output {output} is a folder; give a file name such as {output / 'forms.pdf'}.")
    with service_context() as ctx:
        run = printing.order_print_run(ctx, questionnaire_id, variant, copies, batch=batch, version=version)
        with progress_bar(copies, f"Drawing {copies} {variant} cop{'y' if copies == 1 else 'ies'}") as bar:
            last = [0]

            def advance(done: int, _total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            info = printing.draw_print_run(ctx, run.id, output=output, progress=advance)
        if manifest is not None:
            printing.write_manifest(ctx, run.id, manifest)
        layout = printing.manifest(ctx, run.id)["layout"]
    click.echo(f"Wrote {output}: {copies} cop{'y' if copies == 1 else 'ies'} x {info.pages_per_copy} pages "
               f"(print run {info.id}{', batch ' + repr(batch) if batch else ''}).")
    click.echo(f"Layout: {layout}")
    if manifest is not None:
        click.echo(f"Manifest: {manifest}")


# -- scans and export ---------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest(paths: tuple[Path, ...]) -> None:
    """Read scan files or folders (PDF, TIFF, PNG, JPEG) into responses, then print a summary."""
    from .services import ingest, jobs

    with service_context() as ctx:
        batch = ingest.accept_paths(ctx, paths)
        with progress_bar(1, "Reading pages") as bar:
            state = {"done": 0}

            def advance(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - state["done"])
                state["done"] = done

            job = jobs.run_now(ctx, batch.job_id, listener=advance)
        summary = ingest.job_summary(ctx, batch.job_id)
    if job.state == JobState.FAILED:
        raise FormsServiceError(
            f"Reading stopped: {job.message} The files are kept; run the same ingest command "
            f"again to read them."
        )
    for f in summary.files:
        if f["state"] == "read":
            click.echo(f"{f['file']}: {f['pages']} page{'s' if f['pages'] != 1 else ''}")
        elif f["state"] == "duplicate":
            click.echo(f"{f['file']}: {f['reason']}")
    for f in summary.rejected_files:
        click.echo(f"rejected: {f['reason']}", err=True)
    for p in summary.pages_rejected:
        click.echo(f"rejected: {p['file']}, page {p['page']}: {p['reason']}", err=True)
    for p in summary.pages_unidentified:
        click.echo(f"for a person: {p['file']}, page {p['page']}: {p['reason']}")
    for note in summary.notes:
        click.echo(f"note: {note}")
    text = ingest.summary_text(summary)
    click.echo(text[0].upper() + text[1:])
    if summary.rejected_files or summary.pages_rejected:
        sys.exit(1)


@main.command()
def deliver() -> None:
    """Deliver every contribution that is ready (passed the screen, or released by a moderator), then exit."""
    from .services import delivery

    with service_context() as ctx, progress_bar(1, "Delivering") as bar:
        state = {"done": 0}

        def advance(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - state["done"])
            state["done"] = done

        result = delivery.deliver(ctx, progress=advance)
    text = result.sentence()
    click.echo(text[0].upper() + text[1:])
    if result.dead:
        sys.exit(1)


@main.command("export-demographics")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="The file to write (default: standard output).")
def export_demographics(output: Path | None) -> None:
    """The "about you" answers counted by group, small cells suppressed (JSON)."""
    import json

    from .services import demographics

    with service_context() as ctx:
        body = json.dumps({"items": demographics.report(ctx)}, indent=1, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(body, nl=False)
        return
    if output.is_dir():
        raise InvalidInput(f"--output {output} is a folder; give a file name such as {output / 'about-you.json'}.")
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_text(body, encoding="utf-8")
        partial.replace(output)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {output}: {exc.strerror or exc}.") from None
    click.echo(f"Wrote the \"about you\" counts to {output}.", err=True)


@main.command()
@click.option("--older-than", "older_than", type=click.IntRange(0, 3650), default=None, metavar="DAYS",
              help="Delete scans received more than DAYS days ago (default: what the retention settings say is due).")
@click.option("--all", "everything", is_flag=True, help="Delete every scan's images now, and the blank forms.")
@click.option("--include-waiting", is_flag=True,
              help="Also delete scans a person still needs (a page to identify, a field to verify).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
def purge(older_than: int | None, everything: bool, include_waiting: bool, yes: bool) -> None:
    """Delete scan files, page pictures, field crops and blank forms past retention (answers stay)."""
    from .services import retention

    if older_than is not None and everything:
        raise InvalidInput("Give --older-than DAYS or --all, not both.")
    with service_context() as ctx:
        due = retention.rule(ctx, older_than_days=older_than, everything=everything)
        counts = retention.preview(ctx, due)
        files = counts["due"] + (counts["waiting"] if include_waiting else 0)
        if not yes and files:
            if not sys.stdin.isatty():
                raise InvalidInput(f"This would delete the images of {files} scan file"
                                       f"{'s' if files != 1 else ''} ({due.rule}); add --yes to go ahead.")
            click.confirm(f"Delete the images of {files} scan file{'s' if files != 1 else ''} ({due.rule})? "
                          "Answers stay; the pictures cannot be brought back", abort=True)
        with progress_bar(1, "Deleting") as bar:
            state = {"done": 0}

            def advance(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - state["done"])
                state["done"] = done

            result = retention.purge(ctx, trigger="cli", older_than_days=older_than, everything=everything,
                                     include_waiting=include_waiting, progress=advance)
    click.echo(result.sentence())


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="The file to write (default: standard output).")
def export(fmt: str, output: Path | None) -> None:
    """Write one export record per response (docs/export.md)."""
    from .services import export as exporting

    with service_context() as ctx:
        records = exporting.iter_records(ctx)
        write = exporting.write_jsonl if fmt == "jsonl" else exporting.write_csv
        if output is None:
            count = write(records, sys.stdout)
        else:
            if output.is_dir():
                raise InvalidInput(f"--output {output} is a folder; give a file name such as {output / f'responses.{fmt}'}.")
            tmp = output.with_name(f".{output.name}.tmp")
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                count = write(records, fh)
            tmp.replace(output)
            click.echo(f"Wrote {count} record{'s' if count != 1 else ''} to {output}.", err=True)
