// Runs in progress: a card per live run (progress, counts, cost, state with reason,
// pause/resume/cancel) with an expandable live feed of items and sellers, newest first.
import { api } from "./api.js";
import { cents, el, isLive, stateText } from "./format.js";

const MAX_ROWS = 300;

export class RunCards {
  constructor(socket, onFinished) {
    this.socket = socket;
    this.onFinished = onFinished;
    this.cards = new Map();
    this.box = document.getElementById("runs");
    setInterval(() => this.cards.forEach((c) => c.renderState()), 1000);
  }

  /** A run event or object: create, update or retire its card. */
  update(run, { expand = false } = {}) {
    let card = this.cards.get(run.run || run.id);
    if (!card) {
      if (!isLive(run.status)) return;
      card = new RunCard(run, this.socket);
      this.cards.set(card.id, card);
      this.box.prepend(card.node);
    }
    card.apply(run);
    if (expand) card.expand();
    if (!isLive(card.run.status)) {
      // Keep a finished run on screen briefly so its last state and feed can be read.
      setTimeout(() => {
        if (this.cards.get(card.id) === card && !isLive(card.run.status)) { card.remove(); this.cards.delete(card.id); }
      }, 15000);
      this.onFinished(card.run);
    }
    document.getElementById("runs-empty").hidden = this.cards.size > 0;
  }
}

class RunCard {
  constructor(run, socket) {
    this.id = run.run || run.id;
    this.socket = socket;
    this.run = {};
    this.rows = new Map(); // seq -> event
    this.maxSeq = 0;
    this.minSeq = null;
    this.subscribed = false;
    const pid = `p-${this.id}`;
    this.title = el("h3");
    this.stateLine = el("span", { class: "state", "aria-live": "polite" });
    this.category = el("span", { class: "muted" });
    this.bar = el("div", { class: "progress-fill" });
    this.counts = el("div", { class: "counts", "aria-live": "polite" });
    this.pause = el("button", { type: "button", "data-action": "pause", text: "Pause" });
    this.resume = el("button", { type: "button", "data-action": "resume", text: "Resume", class: "secondary" });
    this.cancel = el("button", { type: "button", "data-action": "cancel", text: "Cancel", class: "secondary" });
    this.error = el("p", { class: "error", role: "alert" });
    this.feed = el("ol", { class: "feed", "aria-label": "Live feed, newest first" });
    this.older = el("button", { type: "button", class: "link", text: "Load older" });
    this.details = el("details", {}, el("summary", { text: "Live feed" }), this.feed, this.older);
    this.node = el("article", { class: "run", "data-run": this.id, "aria-labelledby": pid },
      this.title, el("div", {}, this.stateLine, " ", this.category),
      el("div", { class: "progress", role: "progressbar", "aria-label": "Progress" }, this.bar),
      this.counts, el("div", { class: "actions" }, this.pause, this.resume, this.cancel), this.error, this.details);
    this.title.id = pid;
    for (const b of [this.pause, this.resume, this.cancel]) b.addEventListener("click", () => this.act(b.dataset.action));
    this.details.addEventListener("toggle", () => { if (this.details.open) this.subscribe(); });
    this.older.addEventListener("click", () => this.loadOlder());
  }

  apply(run) {
    this.run = { ...this.run, ...run, id: this.id };
    const r = this.run;
    this.title.textContent = r.name || "Collection";
    const done = (r.processed_items || 0) + (r.failed_items || 0) + (r.skipped_items || 0);
    const total = Math.max(r.total_items || 0, done, 1);
    this.bar.style.width = `${Math.round((done / total) * 100)}%`;
    this.node.querySelector(".progress").setAttribute("aria-valuenow", String(Math.round((done / total) * 100)));
    this.category.textContent = r.current_category ? `· ${r.current_category}` : "";
    this.counts.replaceChildren(
      el("span", { text: `Processed ${r.processed_items || 0}` }), el("span", { text: `Failed ${r.failed_items || 0}` }),
      el("span", { text: `Skipped ${r.skipped_items || 0}` }), el("span", { text: `of ~${r.total_items || 0}` }),
      el("span", { text: `Cost ${cents(r.actual_cost_cents)} / ${cents(r.budget_cap_cents)}` }));
    this.pause.disabled = r.status !== "running";
    this.resume.disabled = r.status !== "paused";
    this.cancel.disabled = !isLive(r.status);
    this.renderState();
  }

  renderState() {
    this.stateLine.textContent = stateText(this.run);
    this.stateLine.className = `state state-${this.run.status}`;
    this.node.dataset.status = this.run.status || "";
  }

  async act(action) {
    this.error.textContent = "";
    try { this.apply(await api("POST", `/runs/${this.id}/${action}`)); } catch (err) { this.error.textContent = err.message; }
  }

  expand() {
    this.details.open = true;
    this.subscribe();
  }

  subscribe() {
    if (this.subscribed) return;
    this.subscribed = true;
    this.socket.subscribe(`run:${this.id}`, (e) => this.onEvent(e), () => (this.maxSeq > 0 ? this.maxSeq : null));
  }

  remove() {
    if (this.subscribed) this.socket.unsubscribe(`run:${this.id}`);
    this.node.remove();
  }

  onEvent(e) {
    if (e.type === "snapshot") {
      if (e.run) this.apply(e.run);
      (e.items || []).forEach((i) => this.add(i, true));
    } else if (e.type === "item" || e.type === "seller") {
      this.add(e, true);
    } else if (e.type === "run") {
      this.apply(e);
    } else if (e.type === "budget_warning") {
      this.error.textContent = `Budget warning: ${cents(e.actual_cost_cents)} spent of ${cents(e.budget_cap_cents)}.`;
    }
  }

  /** Adds an event once (by seq); newest first, at most MAX_ROWS rows in the page. */
  add(e, atTop) {
    if (this.rows.has(e.seq)) return;
    this.rows.set(e.seq, e);
    this.maxSeq = Math.max(this.maxSeq, e.seq);
    this.minSeq = this.minSeq === null ? e.seq : Math.min(this.minSeq, e.seq);
    const row = feedRow(e);
    if (atTop) {
      // Keep seq order even if an older event arrives late.
      const after = [...this.feed.children].find((li) => Number(li.dataset.seq) < e.seq);
      this.feed.insertBefore(row, after || null);
    } else {
      this.feed.append(row);
    }
    while (this.feed.children.length > MAX_ROWS) this.feed.lastElementChild.remove();
  }

  async loadOlder() {
    const oldest = Math.min(...[...this.feed.children].map((li) => Number(li.dataset.seq)));
    if (!Number.isFinite(oldest)) return;
    const page = await api("GET", `/runs/${this.id}/items?before=${oldest}&limit=50`);
    for (const item of page.items) {
      const e = { ...item, type: item.item_type === "ebay_seller" ? "seller" : "item", title: item.data?.title,
                  display_name: item.data?.display_name, price_cents: item.data?.price_cents };
      const row = feedRow(e);
      this.feed.append(row);
    }
    this.older.hidden = page.next_cursor === null;
  }
}

export function feedRow(e) {
  const failed = e.status !== "completed";
  const what = e.type === "seller"
    ? `${(e.display_name || e.external_id).normalize("NFKC").trim()}${e.times_seen > 1 ? ` (seen ${e.times_seen}×)` : ""}`
    : `${e.title || e.external_id} · ${e.external_id}${e.price_cents ? ` · ${cents(e.price_cents)}` : ""}`;
  return el("li", { "data-seq": String(e.seq), class: failed ? "failed" : "" },
    el("span", { class: "kind", text: e.type === "seller" ? "seller" : "product" }),
    el("span", { text: failed ? `${what} — ${e.error_code || e.status}: ${e.error_message || ""}` : what }));
}
