// One WebSocket to /ws (cookie auth) that reconnects with backoff and resubscribes every
// topic, run topics with `since` = the last item seq seen, so feeds get no gap, no duplicate.

export class HubSocket {
  constructor({ onStatus }) {
    this.topics = new Map(); // topic -> { onMessage, since() }
    this.onStatus = onStatus;
    this.delay = 500;
    this.ws = null;
    this.closed = false;
  }

  start() { this.connect(); }

  subscribe(topic, onMessage, since = () => null) {
    this.topics.set(topic, { onMessage, since });
    this.send(this.subscribeMessage(topic));
  }

  unsubscribe(topic) {
    this.topics.delete(topic);
    this.send({ type: "unsubscribe", topic });
  }

  subscribeMessage(topic) {
    const msg = { type: "subscribe", topic };
    const since = this.topics.get(topic)?.since();
    if (since !== null && since !== undefined) msg.since = since;
    return msg;
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, "collection-hub.v1");
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.onStatus(true);
      for (const topic of this.topics.keys()) this.send(this.subscribeMessage(topic));
    };
    ws.onmessage = (e) => this.dispatch(e.data);
    ws.onclose = () => {
      this.onStatus(false);
      if (this.closed) return;
      const wait = this.delay + Math.random() * 250;
      this.delay = Math.min(this.delay * 2, 5000);
      setTimeout(() => this.connect(), wait);
    };
    ws.onerror = () => { /* onclose follows and reconnects */ };
  }

  dispatch(data) {
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    const events = Array.isArray(msg) ? msg : [msg];
    for (const e of events) {
      if (e.type === "snapshot" || e.type === "error" || e.type === "unsubscribed") {
        this.topics.get(e.topic)?.onMessage(e);
      } else if (e.type === "badge") {
        this.topics.get("org")?.onMessage(e);
      } else if (e.run) {
        this.topics.get(`run:${e.run}`)?.onMessage(e);
        if (e.type === "run" || e.type === "budget_warning") this.topics.get("org")?.onMessage(e);
      }
    }
  }
}
