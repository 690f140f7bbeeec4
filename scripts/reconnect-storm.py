#!/usr/bin/env python3
"""Reconnect storm (issue 15 item 6): N clients subscribed to a run drop at once (their
process is killed with SIGKILL), the run goes on, and N clients come back at once with
`since` = the last seq the dropped ones had. Prints one JSON line: time from the drop until
every client holds every item committed after `since`, and whether any was lost or repeated.

    /tmp/hub-bench/venv/bin/python scripts/reconnect-storm.py [--clients 10000] [--gap 200] [--live 50] [--binary PATH]

Needs a release build (make release) and ../shared/bench/setup.sh done once (its venv has
asyncpg; its `wsclients` is the C client that holds the connections and counts markers).
Starts its own hub (`serve --no-engine`, embedded PostgreSQL in a temporary folder).

Items carry the kit's marker `LG<n>:<t_ns>;` in external_id. Items committed before the drop
are numbered from 1,000,000, above the range the returning clients expect, so one of them
arriving again counts as `outrange`; items after the drop are numbered 0…gap+live−1 and each
returning client must hold every one exactly once (`complete`, `dupes`)."""
import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".build" / "release" / "collection-hub"
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/hub-bench"))
WSCLIENTS = WORK / "bin" / "wsclients"
BEFORE = 1_000_000


def start_hub(binary, folder, port):
    proc = subprocess.Popen(
        [str(binary), "serve", "--no-engine", "--demo", "--listen", f"127.0.0.1:{port}", "--data-dir", str(folder / "pg"),
         "--max-websockets-per-token", "0", "--max-connections-per-address", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "Admin token" in line:
            return proc, line.rsplit(" ", 1)[1].strip()
    raise SystemExit("serve did not print a token")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(folder):
    """CPU of the cluster's postmaster and its live children (the pool's backends stay)."""
    postmaster = int((folder / "pg" / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(postmaster)
    for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
        try:
            total += cpu_seconds(int(child))
        except OSError:
            pass
    return total


def wsclients(port, token, run_id, clients, expect, since=None):
    sub = {"type": "subscribe", "topic": f"run:{run_id}"}
    if since is not None:
        sub["since"] = since
    return subprocess.Popen(
        [str(WSCLIENTS), "--port", str(port), "--path", "/ws", "--conns", str(clients), "--expect", str(expect),
         "--header", f"Authorization: Bearer {token}", "--subscribe", json.dumps(sub),
         "--first-delay-ms", "0", "--max-inflight", "512", "--idle-ms", "20000", "--connect-timeout-s", "120"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def wait_ready(proc):
    line = proc.stdout.readline().split()
    assert line and line[0] == "READY", f"wsclients: {line}"
    return int(line[1]), int(line[2])


async def produce(db, run_id, markers, per_statement, rate):
    """Commits items carrying `markers`, `per_statement` per INSERT, at `rate` items/s (0: at once)."""
    start = time.monotonic()
    for i in range(0, len(markers), per_statement):
        if rate:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        chunk = [f"LG{m}:{time.monotonic_ns()};" for m in markers[i:i + per_statement]]
        await db.execute("INSERT INTO collection_items (run_id, item_type, external_id, status) "
                         "SELECT $1, 'amazon_product', unnest($2::text[]), 'completed'", run_id, chunk)


async def main(args):
    folder = Path(tempfile.mkdtemp(prefix="chub-storm-", dir="/tmp"))
    folder.chmod(0o755)  # PostgreSQL runs as user postgres when this runs as root
    port = 7830
    hub, token = start_hub(args.binary, folder, port)
    # Keeps the hub's output pipe drained so its logging never blocks it.
    drain = asyncio.get_running_loop().run_in_executor(None, lambda: [None for _ in hub.stdout])
    try:
        db = await asyncpg.connect(host=str(folder / "pg"), user="postgres", database="collection_hub")
        run_id = await db.fetchval(
            "INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by) "
            "SELECT o.id, 'reconnect storm', 0, 1, '{bench}', (SELECT id FROM users ORDER BY created_at LIMIT 1) "
            "FROM orgs o ORDER BY o.created_at LIMIT 1 RETURNING id")
        first = wsclients(port, token, run_id, args.clients, 1)
        started = time.monotonic()
        held = wait_ready(first)
        first_connected_s = time.monotonic() - started
        await produce(db, run_id, list(range(BEFORE, BEFORE + args.before)), 10, args.rate)
        since = await db.fetchval("SELECT item_seq FROM collection_runs WHERE id = $1", run_id)
        # The drop: every connection of the first process at once, no close frames.
        cpu_before = cpu_seconds(hub.pid), database_cpu_seconds(folder)
        dropped_at = time.monotonic()
        first.kill()
        first.wait()
        # What happened while they were away: `gap` items at once; then they all come back.
        await produce(db, run_id, list(range(args.gap)), 10, 0)
        expect = args.gap + args.live
        second = wsclients(port, token, run_id, args.clients, expect, since=since)
        # The run goes on while they reconnect: `live` more items at `rate`.
        producing = asyncio.create_task(produce(db, run_id, list(range(args.gap, expect)), 1, args.rate))
        back = await asyncio.get_running_loop().run_in_executor(None, wait_ready, second)
        connected_at = time.monotonic()
        await producing
        produced_at = time.monotonic()
        second.stdin.write("DONE\n")
        second.stdin.flush()
        result = json.loads(await asyncio.get_running_loop().run_in_executor(None, second.stdout.readline))
        second.wait()
        current_at = time.monotonic()
        cpu_after = cpu_seconds(hub.pid), database_cpu_seconds(folder)
        last_seq = await db.fetchval("SELECT item_seq FROM collection_runs WHERE id = $1", run_id)
        await db.close()
    finally:
        hub.send_signal(signal.SIGINT)
        hub.wait(timeout=60)
        await drain
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({
        "scenario": "reconnect-storm", "clients": args.clients, "held_before": held[0], "since": since, "last_seq": last_seq,
        "gap_items": args.gap, "live_items": args.live, "live_rate": args.rate,
        "first_connected_s": round(first_connected_s, 3), "reconnected": back[0], "reconnect_failed": back[1],
        "all_reconnected_s": round(connected_at - dropped_at, 3),
        "all_current_s": round((result["last_recv_ns"] / 1e9 - dropped_at) if result["last_recv_ns"] else -1, 3),
        "live_produced_s": round(produced_at - dropped_at, 3), "drained_s": round(current_at - dropped_at, 3),
        "hub_cpu_s": round(cpu_after[0] - cpu_before[0], 2), "database_cpu_s": round(cpu_after[1] - cpu_before[1], 2),
        "complete": result["complete"], "expected_per_client": expect, "delivered": result["delivered"],
        # missing: of the clients that got back in
        "missing": back[0] * expect - result["delivered"], "duplicates": result["dupes"],
        "repeated_from_before": result["outrange"], "timed_out": result.get("timed_out"), "client_cpu_s": result["cpu_s"],
    }, sort_keys=True))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--before", type=int, default=100, help="items committed while the first clients are connected")
    p.add_argument("--gap", type=int, default=200, help="items committed while nobody is connected")
    p.add_argument("--live", type=int, default=50, help="items committed while the clients come back")
    p.add_argument("--rate", type=int, default=50, help="items per second of the live phase")
    p.add_argument("--binary", default=str(BINARY), help="the collection-hub build to measure (default: the release build)")
    if not WSCLIENTS.exists():
        sys.exit(f"{WSCLIENTS} missing: run ../shared/bench/setup.sh once")
    asyncio.run(main(p.parse_args()))
