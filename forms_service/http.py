"""What the web pages and the JSON API share during a request: the service context, waking the worker.

Must never: hold state of its own (everything lives on the Flask app built by ``app.create_app``).
"""

from __future__ import annotations

from flask import current_app

from .context import ServiceContext


def service_context() -> ServiceContext:
    """The context of the app serving this request."""
    ctx: ServiceContext = current_app.extensions["forms_service"]
    return ctx


def wake_worker() -> None:
    """Have the embedded worker (if this process runs one) look at the queue now."""
    worker = current_app.extensions.get("forms_service_worker")
    if worker is not None:
        worker.wake()
