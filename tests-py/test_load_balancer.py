"""Two hubs on one database behind nginx (docs/DEPLOY.md's configuration, as documented):
one hub dies with SIGKILL mid-run, its clients come back through nginx to the survivor and
resume with `since`; every client ends with every seq exactly once, in order."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, Feed, free_port, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = ROOT / "docs" / "DEPLOY.md"
CLIENTS = 8


def documented_site_config():
    """The first ```nginx block of docs/DEPLOY.md: what the test runs is what the page shows."""
    match = re.search(r"```nginx\n(.*?)```", DEPLOY.read_text(), re.S)
    assert match, "docs/DEPLOY.md has no ```nginx block"
    return match.group(1)


def placed(config, documented, actual):
    assert config.count(documented) == 1, f"{documented} should occur once in the documented configuration"
    return config.replace(documented, actual)


class Nginx:
    """nginx in the foreground with its own prefix folder (config, pid, logs, temp files);
    as user nobody when the tests run as root."""

    def __init__(self, upstream_ports):
        self.work = Path(tempfile.mkdtemp(prefix="chub-nginx-", dir="/tmp"))
        self.port = free_port()
        site = documented_site_config()
        site = placed(site, "listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.port};")
        for documented, port in zip(("127.0.0.1:8081", "127.0.0.1:8082"), upstream_ports):
            site = placed(site, documented, f"127.0.0.1:{port}")
        w = self.work
        (w / "site.conf").write_text(site)
        (w / "nginx.conf").write_text(f"""daemon off;
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log {w}/access.log;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    include {w}/site.conf;
}}
""")
        run_as = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(w, nobody.pw_uid, nobody.pw_gid)
            run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self.proc = subprocess.Popen([NGINX, "-p", str(w), "-c", str(w / "nginx.conf"), "-e", str(w / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **run_as)
        wait_until(self.healthy, 30, "nginx to answer /healthz from a hub")

    def healthy(self):
        assert self.proc.poll() is None, f"nginx exited: {self.log()}"
        return health(self.port) is not None

    def log(self):
        path = self.work / "error.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)  # fast shutdown: open WebSockets are cut
        self.proc.wait(timeout=30)
        shutil.rmtree(self.work, ignore_errors=True)


def health(port):
    """The hub's /healthz body (through nginx when `port` is nginx's), or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return json.load(r) if r.status == 200 else None
    except OSError:
        return None


def websockets_held(hub):
    return (health(hub.port) or {}).get("connections", -1)


@pytest.fixture
def nginx():
    started = []

    def make(*ports):
        started.append(Nginx(ports))
        return started[-1]

    yield make
    for n in started:
        n.stop()


class ResumingClient:
    """One subscriber that, like docs/PROTOCOL.md's client, reconnects when its connection
    ends and subscribes with `since` = the last seq it holds."""

    def __init__(self, hub, port, run_id):
        self.hub, self.port, self.run_id = hub, port, run_id
        self.feeds = [Feed(hub, run_id, port=port)]

    @property
    def seqs(self):
        return [s for f in self.feeds for s in f.seqs]

    @property
    def reconnects(self):
        return len(self.feeds) - 1

    def keep_connected(self):
        feed = self.feeds[-1]
        if feed.ended:
            # Every seq the ended connection delivered has been read: its stdout is drained.
            seqs = self.seqs
            self.feeds.append(Feed(self.hub, self.run_id, since=seqs[-1] if seqs else None, port=self.port))

    def close(self):
        for f in self.feeds:
            f.close()


def test_clients_of_a_killed_hub_resume_exactly_through_nginx(fresh_hub, nginx):
    a = fresh_hub(latency_ms=30)  # runs the engine: the run goes on while B dies
    b = fresh_hub(database_url=a.conninfo, extra_args=["--no-engine"])
    proxy = nginx(a.port, b.port)
    run = a.api("POST", "/runs", {"category_ids": ["collectibles", "beauty"], "name": "behind nginx"})
    clients = [ResumingClient(a, proxy.port, run["id"]) for _ in range(CLIENTS)]
    try:
        wait_until(lambda: websockets_held(a) + websockets_held(b) == CLIENTS, 30, "every client to be held by a hub")
        on_b = websockets_held(b)
        assert 0 < on_b < CLIENTS, f"nginx did not spread the clients: {on_b} of {CLIENTS} on B"
        wait_until(lambda: all(len(c.seqs) >= 10 for c in clients), 60, "every client to have 10 items")
        # 136 items at 30 ms a paid call: seconds of the run are still to come, whatever the machine.
        assert a.api("GET", f"/runs/{run['id']}")["status"] == "running", "the run ended before the kill"
        b.kill9()

        def everyone_current():
            for c in clients:
                c.keep_connected()
            status = a.api("GET", f"/runs/{run['id']}")
            return status["status"] == "completed" and all(c.seqs[-1:] == [status["item_seq"]] for c in clients)

        wait_until(everyone_current, 90, "every client to reach the run's last item")
        items = a.all_items(run["id"])
        expected = list(range(1, len(items) + 1))
        assert sorted(i["seq"] for i in items) == expected, "the run's stored seqs have gaps"
        for n, c in enumerate(clients):
            assert c.seqs == expected, f"client {n} ({c.reconnects} reconnects) missed or repeated items"
        assert sum(1 for c in clients if c.reconnects > 0) == on_b, "not exactly the killed hub's clients reconnected"
        assert websockets_held(a) == CLIENTS, "the survivor does not hold every client"
    finally:
        for c in clients:
            c.close()
