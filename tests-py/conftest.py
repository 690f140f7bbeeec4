"""A real `collection-hub serve` (release build, embedded PostgreSQL, simulated provider)
that tests can restart, and a Chromium page logged in to it."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".build" / "release" / "collection-hub"
ARTIFACTS = ROOT / "test-artifacts"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """`collection-hub serve --demo` on a fixed port and data folder."""

    def __init__(self, latency_ms=30):
        self.work = Path(tempfile.mkdtemp(prefix="chub-browser-", dir="/tmp"))
        self.work.chmod(0o755)  # PostgreSQL runs as user postgres when tests run as root
        self.port = free_port()
        self.latency_ms = latency_ms
        self.proc = None
        self.token = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.work / "pg"), "--demo",
             "--sim-latency-ms", str(self.latency_ms), "--sim-failure-rate", "0.02"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 90
        token = None
        while time.time() < deadline and token is None:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "Admin token" in line:
                token = line.rsplit(" ", 1)[1].strip()
        assert token, "serve did not print a token"
        self.token = self.token or token  # the first token stays valid across restarts
        threading.Thread(target=lambda p=self.proc: [None for _ in p.stdout], daemon=True).start()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0

    def restart(self):
        self.stop()
        self.start()

    def api(self, method, path, body=None):
        req = urllib.request.Request(self.url + "/api/v1" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def wait_run(self, run_id, statuses=("completed", "failed", "cancelled"), timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            run = self.api("GET", f"/runs/{run_id}")
            if run["status"] in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never reached {statuses}")

    def all_items(self, run_id):
        items, cursor = [], None
        while True:
            page = self.api("GET", f"/runs/{run_id}/items?limit=200" + (f"&before={cursor}" if cursor else ""))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@pytest.fixture(scope="session")
def hub():
    h = HubProcess()
    h.start()
    yield h
    h.stop()
    left = subprocess.run(["pgrep", "-f", str(h.work / "pg")], capture_output=True, text=True).stdout.strip()
    assert left == "", f"processes left behind: {left}"
    shutil.rmtree(h.work, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, hub, request):
    """A logged-in page; fails the test on any console error not explicitly expected."""
    context = browser.new_context(viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    page.console_errors = []
    page.expected_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.goto(hub.url + "/admin/automation")
    page.fill("#token", hub.token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#categories input")
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    unexpected = [e for e in page.console_errors if not any(x in e for x in page.expected_errors)]
    context.close()
    assert unexpected == [], f"console errors: {unexpected}"
