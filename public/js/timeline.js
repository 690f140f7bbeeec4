// History: finished runs over time, coloured by final state, expandable into counts, cost,
// duration and the failed/skipped items with their reasons.
import { api } from "./api.js";
import { cents, duration, el, isLive, stateText } from "./format.js";
import { feedRow } from "./runs.js";

export class Timeline {
  constructor() {
    this.list = document.getElementById("timeline");
    this.more = document.getElementById("timeline-more");
    this.cursor = null;
    this.shown = new Set();
    this.more.addEventListener("click", () => this.load());
  }

  async load(reset = false) {
    if (reset) { this.cursor = null; this.shown.clear(); this.list.replaceChildren(); }
    const page = await api("GET", `/runs?limit=25${this.cursor ? `&cursor=${encodeURIComponent(this.cursor)}` : ""}`);
    for (const run of page.items) if (!isLive(run.status)) this.list.append(this.entry(run));
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
  }

  /** A run just finished: put it on top. */
  prepend(run) {
    if (this.shown.has(run.id)) return;
    this.list.prepend(this.entry(run));
  }

  entry(run) {
    this.shown.add(run.id);
    const when = new Date(run.created_at || run.started_at || Date.now()).toLocaleString();
    const failures = el("ol", { class: "feed" });
    const details = el("details", {}, el("summary", { text: `${run.name} — ${stateText(run)} — ${when}` }),
      el("p", { text: `Processed ${run.processed_items}, failed ${run.failed_items}, skipped ${run.skipped_items}; ` +
        `cost ${cents(run.actual_cost_cents)} of ${cents(run.budget_cap_cents)}; took ${duration(run.started_at, run.completed_at)}.` }),
      el("h4", { text: "Failed and skipped items" }), failures);
    let loaded = false;
    details.addEventListener("toggle", async () => {
      if (!details.open || loaded) return;
      loaded = true;
      for (const status of ["failed", "skipped"]) {
        const page = await api("GET", `/runs/${run.id}/items?status=${status}&limit=50`);
        for (const item of page.items) {
          failures.append(feedRow({ ...item, type: item.item_type === "ebay_seller" ? "seller" : "item",
                                    title: item.data?.title, display_name: item.data?.display_name }));
        }
      }
      if (!failures.children.length) failures.append(el("li", { text: "None." }));
    });
    return el("li", { class: `t-${run.status}`, "data-run": run.id }, details);
  }
}
