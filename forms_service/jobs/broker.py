"""The message side of Celery mode: the Celery app for a broker, and the one message that announces a job.

``enqueue`` (``queue.py``) calls :func:`send_job` once the job row is committed; the
workers (``celery_app.py``) register the task that runs the message on the same app.
Nothing here runs jobs, so the job queue can announce them without importing the workers.

Must never: put answer text into a message, or log the broker's password.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from kombu.utils.url import maybe_sanitize_url

from ..config import Config
from ..errors import ConfigurationError

log = logging.getLogger(__name__)

TASK_NAME = "forms_service.run_job"
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}

_apps: dict[tuple[str, str], Celery] = {}
_apps_lock = threading.Lock()


def celery_app(config: Config) -> Celery:
    """The Celery app for this broker and queue (one per process, built on first use)."""
    if config.broker_url is None:
        raise ConfigurationError(
            "FORMS_SERVICE_WORKER=celery needs FORMS_SERVICE_BROKER_URL, the address of the "
            "Redis server that carries the job messages, such as redis://localhost:6379/0."
        )
    key = (config.broker_url, config.celery_queue)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = _make_app(config.broker_url, config.celery_queue)
    return app


def _make_app(broker_url: str, queue: str) -> Celery:
    app = Celery("forms_service", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        # every Redis key of this service (queue, unacknowledged messages, bindings)
        # starts with the queue's name, so one Redis can serve several installations
        broker_transport_options={"global_keyprefix": f"{queue}:", "socket_connect_timeout": 5},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # jobs are long: take one at a time, leave the rest to others
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=True,
        enable_utc=True,
    )
    return app


def send_job(config: Config, job_id: int) -> bool:
    """Send the message that announces job ``job_id``; False (logged) if Redis did not take it.

    A job whose message was lost is sent again by a worker's sweep.
    """
    app = celery_app(config)
    try:
        app.send_task(TASK_NAME, args=[int(job_id)], queue=config.celery_queue,
                      retry=True, retry_policy=PUBLISH_RETRY)
    except Exception as exc:
        log.error("could not send the job to the broker; a worker's sweep will send it later",
                  extra={"job": job_id, "broker": maybe_sanitize_url(config.broker_url or ""),
                         "reason": type(exc).__name__})
        return False
    return True




def waiting_messages(config: Config) -> int:
    """How many messages wait in the Redis queue (not counting those a worker holds)."""
    app = celery_app(config)
    with app.connection_for_read() as conn:
        declared = conn.default_channel.queue_declare(queue=config.celery_queue, passive=False)
        return int(declared.message_count)
