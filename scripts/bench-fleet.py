#!/usr/bin/env python3
"""One run update to many WebSocket clients held across several hub processes.

Run by scripts/bench-100k.sh, which starts the hubs. This holds the clients (one kit
wsclients process per hub: a process may hold at most `ulimit -Hn` descriptors), each
subscribed to its org topic; waits until every hub has sent every org snapshot; then
one UPDATE moves the run from pending to running and renames it to the kit's marker
`LG0:<t_send_ns>;`, so the run event every org subscriber receives carries the marker.
The badge follows in its own frame (no marker): counted as a frame without a marker.
Prints the connect time, each hub's memory before and after the clients, the time until the
last client had the update, and one JSON line (appended to --jsonl).
"""
import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import asyncpg
import numpy as np

WORK = os.environ.get("BENCH_WORK", "/tmp/hub-bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def metrics(host, port):
    """The hub's /metrics as {name: value} (unlabelled series only)."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {m[0]: float(m[1]) for m in re.findall(r"^(hub_[a-z_]+) ([0-9.e+-]+)$", text, re.M)}


def memory(hubs):
    return [{"rss_kb": status_kb(h["pid"], "VmRSS"), "anon_kb": status_kb(h["pid"], "RssAnon")} for h in hubs]


def wait_settled(hubs, connected, quiet_s=2.0, limit_s=600, min_frames=None):
    """Until every hub has all its clients subscribed and queued nothing new for quiet_s (every
    org snapshot sent). Hub CPU cannot tell: a hub holding thousands of idle clients is never
    quite idle. Returns the hubs' CPU use (cores) over the quiet window, or None on timeout."""
    t_end = time.monotonic() + limit_s
    last, since, cpu_at = None, None, None
    while time.monotonic() < t_end:
        m = [metrics(h["host"], h["port"]) for h in hubs]
        frames = [x.get("hub_frames_sent_total", 0) for x in m]
        subscribed = all(x.get("hub_subscriptions", 0) >= n for x, n in zip(m, connected))
        subscribed = subscribed and all(f >= n for f, n in zip(frames, min_frames or [0] * len(hubs)))
        if subscribed and frames == last:
            if since is None:
                since, cpu_at = time.monotonic(), sum(cpu_s(h["pid"]) for h in hubs)
            elif time.monotonic() - since >= quiet_s:
                return (sum(cpu_s(h["pid"]) for h in hubs) - cpu_at) / (time.monotonic() - since)
        else:
            since = None
        last = frames
        time.sleep(0.5)
    return None


async def update_run(dsn, run):
    """The one update; returns the CLOCK_MONOTONIC ns taken just before it was sent."""
    c = await asyncpg.connect(dsn)
    try:
        ts = time.monotonic_ns()
        await c.execute("UPDATE collection_runs SET status = 'running', started_at = now(), name = $1 WHERE id = $2::uuid",
                        f"LG0:{ts};", run)
        return ts
    finally:
        await c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hub", action="append", required=True, help="PID@HOST:PORT of a hub (repeatable)")
    ap.add_argument("--clients", type=int, required=True, help="clients in total, spread evenly over the hubs")
    ap.add_argument("--token", required=True)
    ap.add_argument("--run", required=True, help="id of a pending run of the token's org")
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--label", default="fleet")
    ap.add_argument("--jsonl", default=None)
    ap.add_argument("--connect-timeout-s", type=int, default=600)
    ap.add_argument("--wsclients", default=os.path.join(WORK, "bin", "wsclients"))
    args = ap.parse_args()

    hubs = []
    for spec in args.hub:
        pid, addr = spec.split("@")
        host, port = addr.rsplit(":", 1)
        hubs.append({"pid": int(pid), "host": host, "port": int(port)})
    per = [args.clients // len(hubs) + (1 if i < args.clients % len(hubs) else 0) for i in range(len(hubs))]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and max(per) + 64 > hard:
        sys.exit(f"{max(per)} clients per hub need {max(per) + 64} descriptors in one process, over the hard limit "
                 f"{hard}: use more hubs")

    before = memory(hubs)
    cpu0 = [cpu_s(h["pid"]) for h in hubs]
    tmp = tempfile.mkdtemp(prefix="fleet_", dir=os.path.join(WORK, "tmp") if os.path.isdir(os.path.join(WORK, "tmp")) else None)
    procs, outs, ready = [], [], [None] * len(hubs)
    t0 = time.monotonic()
    for i, (h, n) in enumerate(zip(hubs, per)):
        out = os.path.join(tmp, f"lat{i}.bin")
        cmd = [args.wsclients, "--host", h["host"], "--port", str(h["port"]), "--host-header", f"{h['host']}:{h['port']}",
               "--path", "/ws", "--conns", str(n), "--expect", "1", "--out", out,
               "--index-base", str(sum(per[:i])), "--idle-ms", "30000", "--deadline-s", str(args.connect_timeout_s + 900),
               "--connect-timeout-s", str(args.connect_timeout_s), "--first-delay-ms", "0",
               "--header", f"Authorization: Bearer {args.token}",
               "--subscribe", '{"type":"subscribe","topic":"org"}']
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        outs.append(out)

    def read_ready(i):
        parts = procs[i].stdout.readline().split()
        ready[i] = (time.monotonic() - t0, int(parts[1]), int(parts[2])) if parts and parts[0] == "READY" else (time.monotonic() - t0, 0, per[i])

    threads = [threading.Thread(target=read_ready, args=(i,)) for i in range(len(hubs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connect_s = max(r[0] for r in ready)
    connected = sum(r[1] for r in ready)
    failed = sum(r[2] for r in ready)
    connect_cpu = [cpu_s(h["pid"]) - c for h, c in zip(hubs, cpu0)]
    print(f"[{args.label}] connected {connected}/{args.clients} (failed {failed}) in {connect_s:.1f} s "
          f"({connected / connect_s:.0f}/s); waiting until every snapshot is sent", file=sys.stderr)
    idle_cores = wait_settled(hubs, [r[1] for r in ready])
    settled_s = time.monotonic() - t0
    after = memory(hubs)
    m_before = [metrics(h["host"], h["port"]) for h in hubs]

    t_send = asyncio.run(update_run(args.dsn, args.run))
    # The badge follows the run event after the hub's recount query and carries no marker:
    # let every hub finish writing before the clients may stop reading, then count frames.
    # run event + badge: two frames queued per client
    wait_settled(hubs, [r[1] for r in ready], quiet_s=1.0, limit_s=120,
                 min_frames=[m.get("hub_frames_sent_total", 0) + 2 * r[1] for m, r in zip(m_before, ready)])
    for p in procs:
        p.stdin.write("DONE\n")
        p.stdin.flush()
    results = []
    for p in procs:
        line = p.stdout.readline()
        while line and not line.startswith("{"):
            line = p.stdout.readline()
        results.append(json.loads(line))
        p.wait()
    m_after = [metrics(h["host"], h["port"]) for h in hubs]

    lat = np.concatenate([np.fromfile(o, dtype=np.uint32) for o in outs if os.path.exists(o)] or [np.zeros(0, np.uint32)])
    for o in outs:
        if os.path.exists(o):
            os.unlink(o)
    os.rmdir(tmp)
    delivered = sum(r["delivered"] for r in results)
    last_ns = max((r["last_recv_ns"] for r in results if r["last_recv_ns"]), default=0)

    def pct(q):
        return round(float(np.percentile(lat, q)) / 1000.0, 1) if lat.size else None

    per_hub = []
    for i, h in enumerate(hubs):
        mb, ma = m_before[i], m_after[i]
        per_hub.append({
            "port": h["port"], "clients": per[i], "connected": ready[i][1], "connect_s": round(ready[i][0], 2),
            "connect_cpu_s": round(connect_cpu[i], 2),
            "rss_before_kb": before[i]["rss_kb"], "rss_after_kb": after[i]["rss_kb"],
            "anon_before_kb": before[i]["anon_kb"], "anon_after_kb": after[i]["anon_kb"],
            "subscriptions": int(mb.get("hub_subscriptions", -1)),
            "update_events_queued": int(ma.get("hub_events_sent_total", 0) - mb.get("hub_events_sent_total", 0)),
            "update_frames_queued": int(ma.get("hub_frames_sent_total", 0) - mb.get("hub_frames_sent_total", 0)),
            "slow_clients_closed": int(ma.get("hub_slow_clients_closed_total", 0)),
            "frames_without_marker": results[i]["bad"],
            "delivered": results[i]["delivered"], "last_ms": round((results[i]["last_recv_ns"] - t_send) / 1e6, 1)
            if results[i]["last_recv_ns"] else None,
        })
    rss_delta = sum(a["rss_kb"] - b["rss_kb"] for a, b in zip(after, before))
    anon_delta = sum(a["anon_kb"] - b["anon_kb"] for a, b in zip(after, before))
    res = {
        "label": args.label, "hubs": len(hubs), "clients": args.clients, "connected": connected, "conn_failed": failed,
        "connect_s": round(connect_s, 2), "connects_per_s": round(connected / connect_s) if connect_s else None,
        "settled": idle_cores is not None,
        "idle_hub_cores": round(idle_cores, 3) if idle_cores is not None else None, "settled_s": round(settled_s, 1),
        "delivered": delivered, "missing": connected - delivered, "dupes": sum(r["dupes"] for r in results),
        "closed_by_peer": sum(r["closed_by_peer"] for r in results), "pings": sum(r["pings"] for r in results),
        # hello + org snapshot + badge per client (2 where the badge was merged into the run event's frame)
        "frames_without_marker": sum(r["bad"] for r in results), "frames": sum(r["frames"] for r in results),
        "last_client_ms": round((last_ns - t_send) / 1e6, 1) if last_ns else None,
        "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(float(lat.max()) / 1000.0, 1) if lat.size else None,
        "rss_kb_per_conn": round(rss_delta / connected, 2) if connected else None,
        "anon_kb_per_conn": round(anon_delta / connected, 2) if connected else None,
        "client_cpu_s": round(sum(r["cpu_s"] for r in results), 1),
        "per_hub": per_hub,
    }
    print(json.dumps(res))
    if args.jsonl:
        with open(args.jsonl, "a") as f:
            f.write(json.dumps(res) + "\n")
    sys.exit(0 if connected == args.clients and res["missing"] == 0 else 1)


if __name__ == "__main__":
    main()
