// A small client for the hub's WebSocket protocol (docs/PROTOCOL.md): connect, subscribe,
// reconnect with backoff and jitter, resume run topics with `since`, ping, and the close
// codes 4008 (come back at once) and 4401 (token revoked: stop). No DOM and no globals
// beyond the defaults below, so the dashboard, <collection-status> and the Node tests
// (a fake WebSocket and a fake clock) all run the same code.

export const PROTOCOL = "collection-hub.v1";
const OPEN = 1; // WebSocket.OPEN, spelled out: the constructor may be a test double

export const DEFAULTS = {
  firstDelayMs: 500,        // first reconnect wait; doubles per failed attempt…
  maxDelayMs: 8000,         // …up to this
  jitter: 0.3,              // ±15 %: clients dropped together do not return together
  pingEveryMs: 20000,
  silenceLimitMs: 45000,    // nothing heard for this long: the connection is dead
  maxSendsPerSecond: 40,    // the hub closes a client past 50 messages a second (1008)
  topicRetryMs: 2000,       // after `unavailable` / `rate_limited` on a topic
};

const REAL_TIMERS = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (f, ms) => setInterval(f, ms),
  clearInterval: (id) => clearInterval(id),
};

/** The wait before reconnect attempt `attempt` (0 = the first retry after a drop). */
export function backoffDelay(attempt, random = Math.random, o = DEFAULTS) {
  const base = Math.min(o.firstDelayMs * 2 ** attempt, o.maxDelayMs);
  return Math.round(base * (1 + o.jitter * (random() - 0.5)));
}

/** The highest item seq among `events` (item and seller events only), or `seq` if higher. */
function highestItemSeq(events, seq) {
  for (const e of events) {
    if ((e?.type === "item" || e?.type === "seller") && Number.isInteger(e.seq) && e.seq > seq) seq = e.seq;
  }
  return seq;
}

export class HubClient {
  /**
   * url: ws:// or wss:// address of /ws. token: optional API token, offered as the
   * subprotocol `bearer.<token>` (a browser cannot send Authorization; without a token the
   * hub's session cookie is used).
   * onStatus("connecting" | "connected" | "reconnecting" | "stopped", secondsUntilRetry?)
   * onDown(failedAttempts): an attempt closed before it opened (refused, 401, hub away).
   * onStopped(code, reason): the hub closed with 4401; the client will not come back.
   * WebSocket, timers ({now, setTimeout, clearTimeout, setInterval, clearInterval}) and
   * random are injectable for tests.
   */
  constructor({ url, token = null, onStatus = () => {}, onDown = () => {}, onStopped = () => {}, onHello = () => {},
    WebSocket: Socket = globalThis.WebSocket, timers = REAL_TIMERS, random = Math.random, options = {} } = {}) {
    if (token !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(token)) throw new Error("token has characters a subprotocol cannot carry");
    this.url = url;
    this.protocols = token ? [PROTOCOL, `bearer.${token}`] : [PROTOCOL];
    Object.assign(this, { onStatus, onDown, onStopped, onHello, Socket, timers, random });
    this.o = { ...DEFAULTS, ...options };
    this.topics = new Map(); // topic -> { onMessage, since: () => seq | null, lastSeq }
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;   // reconnect attempts since the last open
    this.failures = 0;  // attempts that never opened, since the last open
    this.outbox = [];
    this.sentAt = [];
    this.lastHeard = 0;
    this.pingId = 0;
    this.pending = new Set(); // timeout ids to clear on stop()
    this.heartbeatTimer = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.onStatus("connecting");
    this.connect();
    this.heartbeatTimer = this.timers.setInterval(() => this.heartbeat(), this.o.pingEveryMs);
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clearInterval(this.heartbeatTimer);
    this.pending.forEach((id) => this.timers.clearTimeout(id));
    this.pending.clear();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "bye");
  }

  /**
   * Follows `topic`. `since` (optional) returns the last item seq the caller processed; by
   * default the client resumes run topics from the highest item seq it has delivered.
   */
  subscribe(topic, onMessage, since = null) {
    const known = this.topics.get(topic);
    this.topics.set(topic, { onMessage, since, lastSeq: known?.lastSeq ?? 0 });
    if (!known) this.send(this.subscribeMessage(topic));
  }

  unsubscribe(topic) {
    if (!this.topics.delete(topic)) return;
    this.send({ type: "unsubscribe", topic });
  }

  subscribeMessage(topic) {
    const msg = { type: "subscribe", topic };
    const entry = this.topics.get(topic);
    const since = entry?.since ? entry.since() : entry?.lastSeq;
    if (topic.startsWith("run:") && Number.isInteger(since) && since > 0) msg.since = since;
    return msg;
  }

  get open() { return this.ws !== null && this.ws.readyState === OPEN; }

  /** Sends now or soon (rate-limited); drops messages while disconnected (resubscribe covers them). */
  send(msg) {
    if (!this.open) return;
    this.outbox.push(JSON.stringify(msg));
    this.flush();
  }

  flush() {
    const now = this.timers.now();
    this.sentAt = this.sentAt.filter((t) => now - t < 1000);
    while (this.outbox.length && this.sentAt.length < this.o.maxSendsPerSecond && this.open) {
      this.ws.send(this.outbox.shift());
      this.sentAt.push(now);
    }
    if (this.outbox.length && !this.flushTimer) {
      this.flushTimer = this.later(1000 - (now - this.sentAt[0]), () => { this.flushTimer = null; this.flush(); });
    }
  }

  /** setTimeout that stop() cancels. */
  later(ms, f) {
    const id = this.timers.setTimeout(() => { this.pending.delete(id); f(); }, ms);
    this.pending.add(id);
    return id;
  }

  connect() {
    const ws = new this.Socket(this.url, this.protocols);
    ws.opened = false;
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      ws.opened = true;
      this.attempt = 0;
      this.failures = 0;
      this.lastHeard = this.timers.now();
      this.outbox = []; // meant for the old socket; the resubscriptions below replace it
      this.onStatus("connected");
      for (const topic of this.topics.keys()) this.send(this.subscribeMessage(topic));
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      this.lastHeard = this.timers.now();
      this.dispatch(e.data);
    };
    ws.onclose = (e) => this.closed(ws, e.code, e.reason);
    ws.onerror = () => { /* onclose follows and reconnects */ };
  }

  /** The socket is gone (its own close, or we gave up on it): stop or come back later. */
  closed(ws, code, reason = "") {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return;
    if (!ws.opened) this.onDown(++this.failures);
    if (code === 4401) { // token revoked: retrying cannot help
      this.stop();
      this.onStatus("stopped");
      this.onStopped(code, reason);
      return;
    }
    // 4008: our queue overflowed at the hub; come straight back and resume with since.
    const wait = code === 4008 ? 0 : backoffDelay(this.attempt++, this.random, this.o);
    this.onStatus("reconnecting", Math.ceil(wait / 1000));
    this.later(wait, () => { if (!this.stopped) this.connect(); });
  }

  heartbeat() {
    if (!this.open) return;
    if (this.timers.now() - this.lastHeard > this.o.silenceLimitMs) {
      // A dead peer may never finish the closing handshake: reconnect without waiting for it.
      const ws = this.ws;
      ws.close(4000, "silent");
      this.closed(ws, 4000, "silent");
      return;
    }
    this.send({ type: "ping", id: ++this.pingId });
  }

  dispatch(data) {
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    const events = Array.isArray(msg) ? msg : [msg];
    for (const e of events) {
      if (!e || typeof e !== "object") continue;
      if (e.type === "error") this.onError(e);
      else if (e.type === "hello") this.onHello(e);
      else if (e.type === "snapshot" || e.type === "unsubscribed") {
        const entry = this.topics.get(e.topic);
        if (entry && Array.isArray(e.items)) entry.lastSeq = highestItemSeq(e.items, entry.lastSeq);
        entry?.onMessage(e);
      } else if (e.type === "badge") this.topics.get("org")?.onMessage(e);
      else if (e.run) {
        const entry = this.topics.get(`run:${e.run}`);
        if (entry) entry.lastSeq = highestItemSeq([e], entry.lastSeq);
        entry?.onMessage(e);
        if (e.type === "run") this.topics.get("org")?.onMessage(e);
      }
    }
  }

  onError(e) {
    const entry = e.topic ? this.topics.get(e.topic) : null;
    if (!entry) return;
    if (e.code === "unavailable" || e.code === "rate_limited") {
      // The hub dropped the subscription; ask again shortly.
      this.later(this.o.topicRetryMs, () => { if (this.topics.get(e.topic) === entry) this.send(this.subscribeMessage(e.topic)); });
    } else {
      entry.onMessage(e);
    }
  }
}

/** The /ws address of a hub at `base` (http(s) URL; empty = this page's own origin). */
export function hubSocketURL(base, here = globalThis.location?.href) {
  const u = new URL("/ws", base || here);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}
