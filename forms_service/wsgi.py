"""The app for a WSGI server or ``flask --app forms_service.wsgi``, with the ``forms-service`` commands.

``waitress-serve --call forms_service.wsgi:create_app`` serves it with the
configuration from the environment; ``flask --app forms_service.wsgi
questionnaire list`` runs the same commands as ``forms-service``.
"""

from __future__ import annotations

from flask import Flask

from . import app as application
from .cli import main


def create_app() -> Flask:
    app = application.create_app()
    for name, command in main.commands.items():
        app.cli.add_command(command, name)
    return app
