// "Runs in progress": a summary card per run (progress, current category, counts, cost
// against the cap, state with its reason, pause/resume/cancel) with an expandable live feed.
// Every `run` event is the run's whole state: the latest replaces the card's state.
import { api } from "./api.js";
import { cents, clock, el, isLive, progress, stateText, timeOf } from "./format.js";
import { Feed } from "./feed.js";

const KEEP_FINISHED = 4; // finished cards kept on screen (newest) until dismissed

export class RunCards {
  /** onFinished(run) is told once when a run reaches a final state. */
  constructor(socket, onFinished) {
    this.socket = socket;
    this.onFinished = onFinished;
    this.cards = new Map();
    this.box = document.getElementById("runs");
    setInterval(() => this.cards.forEach((c) => { if (c.run.status === "paused") c.renderState(); }), 1000);
  }

  /** A run event or REST run object: creates or updates its card. */
  update(run, { expand = false, warnings = [] } = {}) {
    const id = run.run || run.id;
    let card = this.cards.get(id);
    if (!card) {
      if (!isLive(run.status)) return;
      card = new RunCard(id, this.socket, { onFinish: () => this.finished(card), onDismiss: () => this.dismiss(id) });
      this.cards.set(id, card);
      this.box.prepend(card.node);
    }
    card.apply(run);
    warnings.forEach((w) => card.warn(w));
    if (expand) card.expand();
    this.refresh();
  }

  /** The card's run reached a final state (from whichever topic told first). */
  finished(card) {
    this.onFinished(card.run);
    const done = [...this.cards.values()].filter((c) => !isLive(c.run.status));
    done.slice(0, Math.max(0, done.length - KEEP_FINISHED)).forEach((c) => this.dismiss(c.id));
    this.refresh();
  }

  dismiss(id) {
    const card = this.cards.get(id);
    if (!card) return;
    card.remove();
    this.cards.delete(id);
    this.refresh();
  }

  refresh() {
    const live = [...this.cards.values()].filter((c) => isLive(c.run.status)).length;
    document.getElementById("runs-empty").hidden = this.cards.size > 0;
    document.getElementById("runs-count").textContent = live ? `(${live})` : "";
  }
}

class RunCard {
  constructor(id, socket, { onFinish, onDismiss }) {
    this.id = id;
    this.onFinish = onFinish;
    this.socket = socket;
    this.run = {};
    this.feed = new Feed(id);
    const h = `run-${id}`;
    this.title = el("h3", { id: h });
    this.state = el("span", { class: "state" });
    this.meta = el("p", { class: "meta muted" });
    this.fill = el("div", { class: "progress-fill" });
    // Two bars one above the other: each gets a visible name that is also its accessible name.
    this.barLabel = el("p", { class: "bar-label", id: `${h}-progress-label`, text: "Items collected" });
    this.bar = el("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-labelledby": this.barLabel.id }, this.fill);
    this.counts = el("dl", { class: "counts", "aria-live": "polite", "aria-atomic": "true" });
    this.costFill = el("div", { class: "meter-fill" });
    this.costLabel = el("p", { class: "bar-label", id: `${h}-cost-label`, text: "Budget used (cost against the cap)" });
    this.cost = el("div", { class: "meter small", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-labelledby": this.costLabel.id }, this.costFill);
    this.warnings = el("ul", { class: "warnings" });
    this.pause = el("button", { type: "button", "data-action": "pause", text: "Pause" });
    this.resume = el("button", { type: "button", "data-action": "resume", text: "Resume" });
    this.cancel = el("button", { type: "button", "data-action": "cancel", class: "danger", text: "Cancel run" });
    this.dismiss = el("button", { type: "button", class: "secondary", text: "Dismiss", hidden: true });
    this.error = el("p", { class: "error", role: "alert" });
    this.details = el("details", { class: "feed-details" },
      el("summary", { text: "Live feed" }), this.feed.node);
    this.node = el("article", { class: "run", "data-run": id, "aria-labelledby": h },
      el("header", { class: "run-head" }, this.title, this.state), this.barLabel, this.bar, this.meta, this.counts,
      this.costLabel, this.cost,
      this.warnings, el("div", { class: "actions" }, this.pause, this.resume, this.cancel, this.dismiss), this.error,
      this.details);
    this.pause.addEventListener("click", () => this.act("pause"));
    this.resume.addEventListener("click", () => this.act("resume"));
    this.cancel.addEventListener("click", () => this.confirmCancel());
    this.dismiss.addEventListener("click", onDismiss);
    // Every card follows its run topic: counts stay live and the feed fills even while folded.
    socket.subscribe(`run:${id}`, (e) => this.onEvent(e), () => this.feed.maxSeq);
  }

  /** Takes a run event or REST run as the whole state, unless it is older than what we have. */
  apply(run) {
    const now = timeOf(this.run.updated_at), next = timeOf(run.updated_at);
    if (now !== null && next !== null && next < now) return;
    const name = run.name ?? this.run.name;
    const wasLive = this.run.status === undefined || isLive(this.run.status);
    this.run = { ...run, id: this.id, name };
    this.render();
    if (wasLive && !isLive(this.run.status)) this.onFinish();
  }

  render() {
    const r = this.run;
    this.title.textContent = r.name || "Collection";
    const p = shown(r);
    this.fill.style.width = `${p.percent}%`;
    this.bar.setAttribute("aria-valuenow", String(p.percent));
    this.bar.setAttribute("aria-valuetext", `${p.done} of ${p.total} items (${p.percent}%)`);
    this.meta.textContent = [r.current_category ? `Category: ${r.current_category}` : null,
      r.started_at ? `started ${clock(r.started_at)}` : null, `${p.percent}% done`, pace(r),
      isLive(r.status) ? null : planAgainstActual(r, p.done)].filter(Boolean).join(" · ");
    const costPct = r.budget_cap_cents ? Math.min(100, Math.round((100 * (r.actual_cost_cents || 0)) / r.budget_cap_cents)) : 0;
    const count = (key, label, value, cls) =>
      el("div", { class: "count", "data-count": key }, el("dt", { text: label }), el("dd", { class: cls || "", text: value }));
    this.counts.replaceChildren(
      count("processed", "Processed", String(r.processed_items || 0)),
      count("failed", "Failed", String(r.failed_items || 0), r.failed_items ? "bad" : ""),
      count("skipped", "Skipped", String(r.skipped_items || 0)),
      count("items", "Items", isLive(r.status) ? `${p.done} / ~${p.total}` : `${p.done} (planned ~${r.planned_items ?? p.total})`),
      count("cost", "Cost", `${cents(r.actual_cost_cents)} of ${cents(r.budget_cap_cents)} cap (${costPct}%)`));
    this.costFill.style.width = `${costPct}%`;
    this.cost.setAttribute("aria-valuenow", String(costPct));
    this.cost.classList.toggle("warn", Boolean(r.budget_warned_at) || costPct >= (r.soft_warning_percent || 80));
    this.pause.disabled = r.status !== "running";
    this.resume.disabled = r.status !== "paused";
    this.cancel.disabled = !isLive(r.status);
    const live = isLive(r.status);
    [this.pause, this.resume, this.cancel].forEach((b) => { b.hidden = !live; });
    this.dismiss.hidden = live;
    if (!live) this.resetCancel();
    this.renderState();
  }

  renderState() {
    this.state.textContent = stateText(this.run);
    this.state.className = `state state-${this.run.status}`;
    this.node.dataset.status = this.run.status || "";
  }

  warn(text) {
    if ([...this.warnings.children].some((li) => li.textContent === text)) return;
    this.warnings.append(el("li", { text }));
  }

  confirmCancel() {
    if (this.cancel.dataset.armed) { this.resetCancel(); this.act("cancel"); return; }
    this.cancel.dataset.armed = "1";
    this.cancel.textContent = "Confirm cancel";
    this.disarm = setTimeout(() => this.resetCancel(), 5000);
  }

  resetCancel() {
    clearTimeout(this.disarm);
    delete this.cancel.dataset.armed;
    this.cancel.textContent = "Cancel run";
  }

  async act(action) {
    this.error.textContent = "";
    const buttons = [this.pause, this.resume, this.cancel];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      this.apply(await api("POST", `/runs/${this.id}/${action}`));
    } catch (err) {
      this.error.textContent = err.code === "invalid_transition"
        ? `Cannot ${action} now: ${err.message}` : `Could not ${action} the run: ${err.message}`;
      try { this.apply(await api("GET", `/runs/${this.id}`)); } catch (e) { /* the message above says enough */ }
    } finally {
      this.render();
    }
  }

  expand() { this.details.open = true; }

  onEvent(e) {
    switch (e.type) {
      case "snapshot":
        if (e.run) this.apply(e.run);
        (e.items || []).forEach((i) => this.feed.add(i));
        break;
      case "item": case "seller": this.feed.add(e); break;
      case "run": this.apply(e); break;
      case "budget_warning":
        this.warn(`Budget warning: ${cents(e.actual_cost_cents)} spent of the ${cents(e.budget_cap_cents)} cap ` +
          `(${e.soft_warning_percent}% reached).`);
        break;
      case "error":
        this.error.textContent = e.code === "not_found" ? "This run no longer exists." : `Live updates stopped: ${e.message}`;
        break;
      default: break;
    }
  }

  remove() {
    this.socket.unsubscribe(`run:${this.id}`);
    clearTimeout(this.disarm);
    this.node.remove();
  }
}

/** Progress against the hub's best-known total (exact once a category is listed); the
 * hub's progress_percent never goes backwards, so the bar does not either. */
function shown(r) {
  const p = progress(r);
  const total = Math.max(r.expected_items || p.total, p.done);
  const percent = typeof r.progress_percent === "number" ? Math.min(100, Math.floor(r.progress_percent)) : p.percent;
  return { done: p.done, total, percent };
}

/** "12.5 items/s · about 1 min 5 s left" while running. */
function pace(r) {
  if (r.status !== "running" || !(r.items_per_second > 0)) return null;
  const eta = r.eta_seconds;
  const left = typeof eta === "number" ? ` · about ${eta < 60 ? `${eta} s` : `${Math.floor(eta / 60)} min ${eta % 60} s`} left` : "";
  return `${r.items_per_second} items/s${left}`;
}

/** "planned ~345 items, $6.05 · did 344, $6.04" once the run is over. */
function planAgainstActual(r, done) {
  if (r.planned_items === undefined) return null;
  return `planned ~${r.planned_items} items, ${cents(r.estimated_cost_cents)} · did ${done}, ${cents(r.actual_cost_cents)}`;
}
