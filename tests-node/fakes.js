// Test doubles for public/js/client.js: a WebSocket the test drives by hand, a clock that
// only moves when told (no test sleeps), and a seeded random source.

/** Timers on a virtual clock: advance(ms) runs everything due, in time order. */
export class FakeClock {
  constructor() {
    this.t = 1_000_000;
    this.nextId = 1;
    this.jobs = new Map(); // id -> { at, f, every }
  }

  now() { return this.t; }
  setTimeout(f, ms) { const id = this.nextId++; this.jobs.set(id, { at: this.t + Math.max(0, ms), f }); return id; }
  clearTimeout(id) { this.jobs.delete(id); }
  setInterval(f, ms) { const id = this.nextId++; this.jobs.set(id, { at: this.t + ms, f, every: ms }); return id; }
  clearInterval(id) { this.jobs.delete(id); }

  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, j] of this.jobs) if (j.at <= end && (next === null || j.at < next[1].at)) next = [id, j];
      if (next === null) break;
      const [id, job] = next;
      this.t = job.at;
      if (job.every) job.at += job.every; else this.jobs.delete(id);
      job.f();
    }
    this.t = end;
  }

  /** What HubClient takes as `timers`. */
  get timers() {
    return {
      now: () => this.now(),
      setTimeout: (f, ms) => this.setTimeout(f, ms),
      clearTimeout: (id) => this.clearTimeout(id),
      setInterval: (f, ms) => this.setInterval(f, ms),
      clearInterval: (id) => this.clearInterval(id),
    };
  }
}

/** A WebSocket class whose instances record what the client sent; the test plays the hub. */
export function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      Object.assign(this, { url, protocols, readyState: 0, sent: [], closedWith: null });
      sockets.push(this);
    }
    send(text) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(text));
    }
    close(code = 1000, reason = "") { this.closedWith = { code, reason }; this.readyState = 3; }
    // The hub's side:
    accept() { this.readyState = 1; this.onopen?.({}); }
    receive(msg) { this.onmessage?.({ data: JSON.stringify(msg) }); }
    drop(code = 1006, reason = "") { this.readyState = 3; this.onclose?.({ code, reason }); }
    subscribes() { return this.sent.filter((m) => m.type === "subscribe"); }
  }
  return { FakeWebSocket, sockets };
}

/** mulberry32: a small seeded PRNG, so jittered delays are the same on every run. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
