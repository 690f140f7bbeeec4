// Run history: finished runs drawn over time and coloured by final state, and a list that
// expands into counts, cost, duration and the failed and skipped items with their reasons.
import { api } from "./api.js";
import { cents, clock, duration, el, isLive, stateText, timeOf } from "./format.js";
import { feedRow, itemEvent } from "./feed.js";
import { categoryById } from "./new-collection.js";

const MAX_LANES = 6;
const $ = (id) => document.getElementById(id);

export class Timeline {
  constructor() {
    this.runs = []; // finished runs shown, newest first
    this.cursor = null;
    this.entries = new Map(); // run id -> <li>
    $("timeline-more").addEventListener("click", () => this.load());
    $("timeline-filter").addEventListener("change", () => this.load(true));
  }

  get status() { return $("timeline-filter").value; }

  async load(reset = false) {
    const more = $("timeline-more");
    if (reset) { this.cursor = null; this.runs = []; this.entries.clear(); $("timeline").replaceChildren(); }
    more.disabled = true;
    $("timeline-error").textContent = "";
    try {
      const query = new URLSearchParams({ limit: "50" });
      if (this.status) query.set("status", this.status);
      if (this.cursor) query.set("cursor", this.cursor);
      const page = await api("GET", `/runs?${query}`);
      for (const run of page.items) if (!isLive(run.status)) this.append(run);
      this.cursor = page.next_cursor;
    } catch (err) {
      $("timeline-error").textContent = `Could not load the history: ${err.message}`;
    } finally {
      more.disabled = false;
      more.hidden = !this.cursor;
      this.draw();
    }
  }

  /** A run that just finished on this page: on top, if the filter shows it. */
  add(run) {
    if (this.entries.has(run.id) || (this.status && run.status !== this.status)) return;
    this.runs.unshift(run);
    $("timeline").prepend(this.entry(run));
    this.draw();
  }

  append(run) {
    if (this.entries.has(run.id)) return;
    this.runs.push(run);
    $("timeline").append(this.entry(run));
  }

  /** The chart: one bar per run from start to end, in lanes so overlapping runs stay apart. */
  draw() {
    $("timeline-empty").hidden = this.runs.length > 0;
    const strip = $("timeline-strip");
    const spans = this.runs.map((r) => {
      const start = timeOf(r.started_at) ?? timeOf(r.created_at) ?? Date.now();
      return { r, start, end: Math.max(start, timeOf(r.completed_at) ?? timeOf(r.updated_at) ?? start) };
    }).sort((a, b) => a.start - b.start);
    strip.hidden = spans.length === 0;
    $("timeline-axis").hidden = spans.length === 0;
    if (!spans.length) return;
    const t0 = spans[0].start;
    const t1 = Math.max(...spans.map((s) => s.end), t0 + 60000);
    const lanes = [];
    const bars = spans.map((s) => {
      let lane = lanes.findIndex((end) => end <= s.start);
      if (lane < 0) lane = lanes.length < MAX_LANES ? lanes.length : MAX_LANES - 1;
      lanes[lane] = Math.max(lanes[lane] ?? 0, s.end + (t1 - t0) * 0.01);
      const bar = el("button", { type: "button", class: `bar t-${s.r.status}`, "data-run": s.r.id,
        "aria-label": `${s.r.name}: ${stateText(s.r)}, ${clock(s.r.started_at || s.r.created_at)}, took ${duration(s.r.started_at, s.r.completed_at)}` });
      bar.title = bar.getAttribute("aria-label");
      bar.style.left = `${((s.start - t0) / (t1 - t0)) * 100}%`;
      bar.style.width = `${((s.end - s.start) / (t1 - t0)) * 100}%`;
      bar.style.top = `${lane * 1.1 + 0.3}rem`;
      bar.addEventListener("click", () => this.reveal(s.r.id));
      return bar;
    });
    strip.style.height = `${lanes.length * 1.1 + 0.5}rem`;
    strip.replaceChildren(...bars);
    $("timeline-start").textContent = clock(new Date(t0).toISOString());
    $("timeline-end").textContent = clock(new Date(t1).toISOString());
  }

  reveal(id) {
    const li = this.entries.get(id);
    if (!li) return;
    const details = li.querySelector("details");
    details.open = true;
    li.scrollIntoView({ block: "nearest" });
    details.querySelector("summary").focus();
  }

  entry(run) {
    const cats = (run.category_ids || []).map((c) => categoryById(c)?.name || c).join(", ");
    const fact = (label, value) => [el("dt", { text: label }), el("dd", { text: value })];
    const problems = el("div", { class: "problems" });
    const details = el("details", {},
      el("summary", {}, el("span", { class: `dot t-${run.status}`, "aria-hidden": "true" }),
        el("span", { class: "t-name", text: run.name }), " ",
        el("span", { class: "muted", text: `${stateText(run)} · ${clock(run.started_at || run.created_at)} · ${duration(run.started_at, run.completed_at)}` })),
      el("dl", { class: "facts" },
        ...fact("Processed", String(run.processed_items)), ...fact("Failed", String(run.failed_items)),
        ...fact("Skipped", String(run.skipped_items)), ...fact("Planned", `~${run.planned_items ?? run.total_items} items, ${cents(run.estimated_cost_cents)}`),
        ...fact("Actual", `${(run.processed_items || 0) + (run.failed_items || 0) + (run.skipped_items || 0)} items, ${cents(run.actual_cost_cents)}` +
          (isLive(run.status) || run.status === "completed" && !run.status_reason ? "" : ` (best-known total ~${run.expected_items ?? run.total_items})`)),
        ...fact("Cost", `${cents(run.actual_cost_cents)} of ${cents(run.budget_cap_cents)} cap (estimated ${cents(run.estimated_cost_cents)})`),
        ...fact("Duration", duration(run.started_at, run.completed_at)),
        ...fact("Started", clock(run.started_at)), ...fact("Finished", clock(run.completed_at)),
        ...(cats ? fact("Categories", cats) : [])),
      problems);
    let loaded = false;
    details.addEventListener("toggle", () => {
      if (!details.open || loaded) return;
      loaded = true;
      problems.append(new ProblemList(run, "failed", run.failed_items).node, new ProblemList(run, "skipped", run.skipped_items).node);
    });
    const li = el("li", { class: `t-${run.status}`, "data-run": run.id }, details);
    this.entries.set(run.id, li);
    return li;
  }
}

/** The failed or skipped items of one run with their reasons, paged with `before`. */
class ProblemList {
  constructor(run, status, count) {
    this.run = run;
    this.status = status;
    this.cursor = null;
    this.list = el("ol", { class: "feed", "aria-label": `${status} items` });
    this.more = el("button", { type: "button", class: "secondary small", text: "Load more", hidden: true });
    this.error = el("p", { class: "error", role: "alert" });
    this.node = el("section", { class: `problem-list problem-${status}` },
      el("h4", { text: `${status === "failed" ? "Failed" : "Skipped"} items (${count || 0})` }), this.list, this.more, this.error);
    this.more.addEventListener("click", () => this.load());
    if (count > 0) this.load();
    else this.list.append(el("li", { class: "muted", text: "None." }));
  }

  async load() {
    this.more.disabled = true;
    this.error.textContent = "";
    try {
      const query = new URLSearchParams({ status: this.status, limit: "50" });
      if (this.cursor !== null) query.set("before", String(this.cursor));
      const page = await api("GET", `/runs/${this.run.id}/items?${query}`);
      page.items.forEach((item) => this.list.append(feedRow(itemEvent(item))));
      this.cursor = page.next_cursor;
      if (!this.list.children.length) this.list.append(el("li", { class: "muted", text: "None." }));
    } catch (err) {
      this.error.textContent = `Could not load the ${this.status} items: ${err.message}`;
    } finally {
      this.more.disabled = false;
      this.more.hidden = this.cursor === null || this.cursor === undefined;
    }
  }
}
