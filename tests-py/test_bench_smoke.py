"""A few seconds of each `collection-hub bench` sub-command: they run and report sane figures."""
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".build" / "release" / "collection-hub"


def bench(*args):
    out = subprocess.run([str(BINARY), "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fanout_smoke():
    r = bench("fanout", "--clients", "20", "--events", "1000", "--rate", "500")
    assert r["connected"] == 20
    assert r["missing"] == 0 and r["duplicates"] == 0
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]


def test_connections_smoke():
    r = bench("connections", "--clients", "300", "--hold", "1")
    assert r["connected"] == 300 and r["open_at_end"] == 300
    assert r["hub_rss_mb"] > 0


def test_engine_smoke():
    r = bench("engine", "--items", "1000")
    assert r["status"] == "completed"
    assert r["items"] > 0 and r["delivered"] == r["items"]
    assert r["committed_per_s"] > 0
