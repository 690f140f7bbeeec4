#!/usr/bin/env python3
"""Issue 12, finding 3: the hub's RSS while N sockets each send most of a 1 MiB request body
and never finish it. Measures (does not assert). Usage:
    scripts/measure-unfinished-bodies.py BINARY [--sockets 400] [--path /api/v1/session] [--auth]
Starts `BINARY serve --demo --no-engine` on a fresh data folder, prints one JSON line."""
import argparse, json, os, re, shutil, signal, socket, subprocess, tempfile, time, urllib.request


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def metric(port, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name} (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sockets", type=int, default=400)
    ap.add_argument("--path", default="/api/v1/session")
    ap.add_argument("--auth", action="store_true", help="send the demo admin token")
    ap.add_argument("--sent", type=int, default=1_000_000, help="body bytes sent of the declared 1,048,576")
    a = ap.parse_args()
    a.binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="chub-rss-", dir="/tmp")
    os.chmod(work, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = subprocess.Popen([a.binary, "serve", "--demo", "--no-engine", "--listen", f"127.0.0.1:{port}",
                            "--data-dir", f"{work}/pg"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # finds migrations/, public/
    token = None
    for line in hub.stdout:
        if "Admin token" in line:
            token = line.rsplit(" ", 1)[1].strip()
            break
    time.sleep(1.0)  # measurement only: let start-up allocations settle
    idle = rss_mb(hub.pid)
    head = (f"POST {a.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1048576\r\n" + (f"Authorization: Bearer {token}\r\n" if a.auth else "") + "\r\n").encode()
    chunk = b" " * 65536
    socks, refused = [], 0
    for _ in range(a.sockets):
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(5)
        socks.append(c)
        try:
            c.sendall(head)
            left = a.sent
            while left > 0:
                n = c.send(chunk[:min(left, len(chunk))])
                left -= n
        except OSError:
            refused += 1
    time.sleep(2.0)  # measurement only
    loaded = rss_mb(hub.pid)
    peak_held = metric(port, "hub_http_held_request_bytes_peak")
    for c in socks:
        c.close()
    time.sleep(3.0)  # measurement only
    after = rss_mb(hub.pid)
    hub.send_signal(signal.SIGINT)
    hub.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"sockets": a.sockets, "path": a.path, "auth": a.auth, "sent_per_socket": a.sent,
                      "rss_idle_mb": round(idle, 1), "rss_loaded_mb": round(loaded, 1), "rss_after_close_mb": round(after, 1),
                      "sockets_cut_off_while_sending": refused, "held_bytes_peak": peak_held}))


if __name__ == "__main__":
    main()
