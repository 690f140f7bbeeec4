// One WebSocket to /ws (cookie auth, subprotocol collection-hub.v1). It reconnects with
// backoff and resubscribes every topic; run topics ask for `since` = the highest item seq
// the page holds, so a feed continues with no gap and no duplicate (docs/PROTOCOL.md).

const MAX_SENDS_PER_SECOND = 40; // the hub closes a client past 50 messages a second
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;

export class HubSocket {
  /**
   * onStatus("connecting" | "connected" | "reconnecting", secondsUntilRetry?)
   * onDown(failedAttempts): a connection attempt failed (the app may check the session).
   */
  constructor({ onStatus = () => {}, onDown = () => {} } = {}) {
    this.topics = new Map(); // topic -> { onMessage, since }
    this.onStatus = onStatus;
    this.onDown = onDown;
    this.delay = 500;
    this.failures = 0;
    this.ws = null;
    this.stopped = false;
    this.outbox = [];
    this.sentAt = [];
    this.lastHeard = 0;
    this.pingId = 0;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.onStatus("connecting");
    this.connect();
    this.timer = setInterval(() => this.heartbeat(), PING_EVERY_MS);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.ws) this.ws.close(1000, "bye");
  }

  /** since() returns the last seq processed for run topics, or null for a fresh snapshot. */
  subscribe(topic, onMessage, since = () => null) {
    const known = this.topics.has(topic);
    this.topics.set(topic, { onMessage, since });
    if (!known) this.send(this.subscribeMessage(topic));
  }

  unsubscribe(topic) {
    if (!this.topics.delete(topic)) return;
    this.send({ type: "unsubscribe", topic });
  }

  subscribeMessage(topic) {
    const msg = { type: "subscribe", topic };
    const since = this.topics.get(topic)?.since();
    if (Number.isInteger(since) && since > 0) msg.since = since;
    return msg;
  }

  get open() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }

  /** Sends now or soon (rate-limited); drops messages while disconnected (resubscribe covers them). */
  send(msg) {
    if (!this.open) return;
    this.outbox.push(JSON.stringify(msg));
    this.flush();
  }

  flush() {
    const now = Date.now();
    this.sentAt = this.sentAt.filter((t) => now - t < 1000);
    while (this.outbox.length && this.sentAt.length < MAX_SENDS_PER_SECOND && this.open) {
      this.ws.send(this.outbox.shift());
      this.sentAt.push(now);
    }
    if (this.outbox.length && !this.flushTimer) {
      this.flushTimer = setTimeout(() => { this.flushTimer = null; this.flush(); }, 1000 - (now - this.sentAt[0]));
    }
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, "collection-hub.v1");
    let opened = false;
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.delay = 500;
      this.failures = 0;
      this.lastHeard = Date.now();
      this.outbox = [];
      this.onStatus("connected");
      for (const topic of this.topics.keys()) this.send(this.subscribeMessage(topic));
    };
    ws.onmessage = (e) => { this.lastHeard = Date.now(); this.dispatch(e.data); };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (!opened) this.onDown(++this.failures);
      // 4008: our queue overflowed; come straight back and resume with since.
      const wait = e.code === 4008 ? 100 : this.delay + Math.random() * 300;
      this.delay = Math.min(this.delay * 2, 8000);
      this.onStatus("reconnecting", Math.ceil(wait / 1000));
      setTimeout(() => { if (!this.stopped) this.connect(); }, wait);
    };
    ws.onerror = () => { /* onclose follows and reconnects */ };
  }

  heartbeat() {
    if (!this.open) return;
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) { this.ws.close(4000, "silent"); return; }
    this.send({ type: "ping", id: ++this.pingId });
  }

  dispatch(data) {
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    const events = Array.isArray(msg) ? msg : [msg];
    for (const e of events) {
      if (!e || typeof e !== "object") continue;
      if (e.type === "error") this.onError(e);
      else if (e.type === "snapshot" || e.type === "unsubscribed") this.topics.get(e.topic)?.onMessage(e);
      else if (e.type === "badge") this.topics.get("org")?.onMessage(e);
      else if (e.run) {
        this.topics.get(`run:${e.run}`)?.onMessage(e);
        if (e.type === "run") this.topics.get("org")?.onMessage(e);
      }
    }
  }

  onError(e) {
    const entry = e.topic ? this.topics.get(e.topic) : null;
    if (!entry) return;
    if (e.code === "unavailable" || e.code === "rate_limited") {
      // The hub dropped the subscription; ask again shortly.
      setTimeout(() => { if (this.topics.get(e.topic) === entry) this.send(this.subscribeMessage(e.topic)); }, 2000);
    } else {
      entry.onMessage(e);
    }
  }
}
