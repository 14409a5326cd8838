"""A real forms-service process on 127.0.0.1, set up as `make run` does, and a real browser."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN_PASSWORD = "the administrator's own password"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    admin: str
    password: str
    env: dict[str, str]
    home: Path

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        exe = Path(sys.executable).with_name("forms-service")
        return subprocess.run([str(exe), *args], capture_output=True, text=True, env=self.env,
                              input=input, timeout=300)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from serve(tmp_path_factory.mktemp("live"))


def serve(root: Path, *, generated_password: bool = False, **settings: str) -> Iterator[LiveServer]:
    """`forms-service setup` and `serve` on a free port of 127.0.0.1, with ``settings`` in the environment.

    The administrator's generated password is replaced by :data:`ADMIN_PASSWORD` (as its first
    sign-in would make them do), unless ``generated_password``."""
    layouts = root / "layouts"
    layouts.mkdir()  # empty, as a new installation's: the shipped questionnaire comes from the package
    env = {**os.environ, "FORMS_SERVICE_HOME": str(root / "home"), "FORMS_SERVICE_LAYOUTS": str(layouts),
           **settings}
    env.pop("DATABASE_URL", None)
    exe = Path(sys.executable).with_name("forms-service")
    setup = subprocess.run([str(exe), "setup"], capture_output=True, text=True, env=env, timeout=300)
    assert setup.returncode == 0, setup.stderr
    password = re.search(r"password:\s+(\S+)", setup.stdout)
    assert password, setup.stdout
    admin_password = password.group(1)
    if not generated_password:
        changed = subprocess.run([str(exe), "user", "set-password", "admin", "--password-stdin"], capture_output=True,
                                 text=True, env=env, input=ADMIN_PASSWORD + "\n", timeout=300)
        assert changed.returncode == 0, changed.stderr
        admin_password = ADMIN_PASSWORD
    port = _free_port()
    log = open(root / "serve.log", "w")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise AssertionError("the server did not start: " + (root / "serve.log").read_text()) from None
            time.sleep(0.2)
    try:
        yield LiveServer(url, "admin", admin_password, env, root / "home")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
