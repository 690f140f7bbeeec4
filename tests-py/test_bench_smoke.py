"""A few seconds of each `collection-hub bench` sub-command: they run and report sane figures."""
from conftest import run_bench as bench


def test_fanout_smoke():
    r = bench("fanout", "--clients", "20", "--events", "1000", "--rate", "500")
    assert r["connected"] == 20
    assert r["missing"] == 0 and r["duplicates"] == 0


def test_connections_smoke():
    r = bench("connections", "--clients", "300", "--hold", "1")
    assert r["connected"] == 300 and r["open_at_end"] == 300
    # Every connection was answered (its org snapshot) and the hub counts each one.
    assert r["subscribed"] == 300 and r["hub_connections"] == 300, r


def test_engine_smoke():
    r = bench("engine", "--items", "1000")
    assert r["status"] == "completed"
    assert r["items"] > 0 and r["delivered"] == r["items"]
