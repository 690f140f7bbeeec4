// A run's live feed: each product and seller as it is written, newest first, deduplicated by
// seq, at most ~300 rows in the page; "Load older" pages back through the REST API.
import { api } from "./api.js";
import { cents, el } from "./format.js";

export const MAX_ROWS = 300;
const MAX_ROWS_PAGED = 2000;

/** A REST item (GET /runs/{id}/items) in the shape of a WebSocket item or seller event. */
export function itemEvent(item) {
  const d = item.data || {};
  return {
    ...item,
    type: item.item_type === "ebay_seller" ? "seller" : "item",
    title: item.title ?? d.title,
    price_cents: item.price_cents ?? d.price_cents,
    display_name: item.display_name ?? d.display_name,
  };
}

const tidy = (text) => String(text ?? "").normalize("NFKC").replace(/\s+/g, " ").trim();

/** One feed row: kind, what was collected, and for failed or skipped items the reason. */
export function feedRow(e) {
  const seller = e.type === "seller";
  const what = el("span", { class: "what" });
  if (seller) {
    what.append(el("strong", { text: tidy(e.display_name) || e.external_id }));
    if (e.times_seen > 1) what.append(" ", el("span", { class: "muted", text: `seen ${e.times_seen}×` }));
  } else {
    if (tidy(e.title)) what.append(el("strong", { text: tidy(e.title) }), " ");
    what.append(el("span", { class: tidy(e.title) ? "muted" : "", text: `ASIN ${e.external_id}` }));
    if (Number.isFinite(e.price_cents)) what.append(" ", el("span", { class: "price", text: cents(e.price_cents) }));
  }
  if (e.status && e.status !== "completed") {
    const why = [e.error_code, e.error_message].filter(Boolean).join(": ");
    what.append(el("span", { class: "reason-text", text: ` — ${e.status}${why ? ` (${why})` : ""}` }));
  }
  return el("li", { "data-seq": String(e.seq), class: e.status && e.status !== "completed" ? `row-${e.status}` : "" },
    el("span", { class: `kind kind-${seller ? "seller" : "product"}`, text: seller ? "Seller" : "Product" }),
    what,
    el("span", { class: "seq muted", text: `#${e.seq}` }));
}

export class Feed {
  constructor(runId) {
    this.runId = runId;
    this.limit = MAX_ROWS;
    this.maxSeq = 0; // the highest seq received: what a resubscription asks `since`
    this.seqs = new Set(); // seqs of the rows in the list
    this.list = el("ol", { class: "feed", "aria-label": "Products and sellers, newest first" });
    this.info = el("p", { class: "muted feed-info" });
    this.error = el("p", { class: "error", role: "alert" });
    this.older = el("button", { type: "button", class: "secondary small", text: "Load older" });
    this.node = el("div", { class: "feed-box" }, this.info, this.list, this.older, this.error);
    this.older.addEventListener("click", () => this.loadOlder());
    this.refresh();
  }

  /** A live item or seller event; duplicates (same seq) are ignored. */
  add(e) {
    if (!Number.isInteger(e.seq) || this.seqs.has(e.seq)) return;
    this.maxSeq = Math.max(this.maxSeq, e.seq);
    this.insert(e);
    while (this.list.children.length > this.limit) {
      this.seqs.delete(Number(this.list.lastElementChild.dataset.seq));
      this.list.lastElementChild.remove();
    }
    this.refresh();
  }

  insert(e) {
    const row = feedRow(e);
    const first = this.list.firstElementChild;
    if (!first || Number(first.dataset.seq) < e.seq) {
      this.list.prepend(row);
    } else {
      const next = [...this.list.children].find((li) => Number(li.dataset.seq) < e.seq);
      this.list.insertBefore(row, next || null);
    }
    this.seqs.add(e.seq);
  }

  lowest() {
    const last = this.list.lastElementChild;
    return last ? Number(last.dataset.seq) : null;
  }

  refresh() {
    const n = this.list.children.length;
    const low = this.lowest();
    // Seqs run 1, 2, 3… without gaps, so anything below the lowest row is older data.
    this.older.hidden = !(low > 1);
    this.info.textContent = n === 0 ? "Waiting for the first products…"
      : `${n} most recent ${n === 1 ? "row" : "rows"}${low > 1 ? ` (#${low}–#${this.maxSeq}); older ones with Load older` : ""}.`;
  }

  async loadOlder() {
    const before = this.lowest();
    if (!(before > 1)) return;
    this.error.textContent = "";
    this.older.disabled = true;
    this.older.textContent = "Loading…";
    try {
      const page = await api("GET", `/runs/${this.runId}/items?before=${before}&limit=50`);
      this.limit = Math.min(MAX_ROWS_PAGED, Math.max(this.limit, this.list.children.length + page.items.length));
      for (const item of page.items) {
        if (this.seqs.has(item.seq)) continue;
        this.maxSeq = Math.max(this.maxSeq, item.seq);
        this.insert(itemEvent(item));
      }
    } catch (err) {
      this.error.textContent = `Could not load older rows: ${err.message}`;
    } finally {
      this.older.disabled = false;
      this.older.textContent = "Load older";
      this.refresh();
    }
  }
}
