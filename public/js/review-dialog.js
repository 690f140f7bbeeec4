// The review dialog shown before a run starts: name, categories, estimated products, the
// per-category cost breakdown and a budget meter against the cap (warning from the soft
// percentage, Confirm disabled with the reason above 100%). Confirm creates the run.
import { api } from "./api.js";
import { cents, el } from "./format.js";
import { categoryById } from "./new-collection.js";

let pending = null; // { ids, name, verdict }
let onCreated = () => {};

const $ = (id) => document.getElementById(id);

/** Asks the hub for an estimate of `ids` and opens the dialog with it. */
export async function openReview({ ids, name }) {
  const estimate = await api("POST", "/estimate", { category_ids: ids });
  pending = { ids, name, verdict: estimate.verdict };
  render(estimate, name);
  $("review-dialog").showModal();
  ($("review-confirm").disabled ? $("review-cancel") : $("review-confirm")).focus();
}

function render(est, name) {
  $("review-name").textContent = name ? `Name: ${name}` : "Name: automatic (“Collection” with the date and time)";
  const n = est.categories.length;
  $("review-products").textContent =
    `${n} ${n === 1 ? "category" : "categories"}: about ${est.expected_products} products ` +
    `and ~${est.expected_sellers} seller lookups (${est.basis_text || "catalog figures"}).`;
  $("review-rows").replaceChildren(...est.categories.map((c) => el("tr", { "data-category": c.category_id },
    el("th", { scope: "row", text: c.name }),
    el("td", { class: "num", text: String(c.amazon_calls ?? categoryById(c.category_id)?.expected_products ?? "–") }),
    el("td", { text: c.basis_text ? `${c.summary} (${c.basis_text})` : c.summary }))));
  $("review-total-products").textContent = String(est.expected_products);
  $("review-total-cost").textContent = cents(est.total_cents);

  const pct = Math.round(Number(est.percent_of_cap) || 0);
  const meter = $("review-meter");
  meter.setAttribute("aria-valuenow", String(Math.min(pct, 100)));
  meter.setAttribute("aria-valuetext", `${pct}% of the budget cap`);
  meter.className = "meter" + (est.verdict === "over_cap" ? " over" : est.verdict === "soft_warning" ? " warn" : "");
  $("review-meter-fill").style.width = `${Math.min(100, pct)}%`;
  $("review-meter-soft").style.left = `${Math.min(100, est.soft_warning_percent)}%`;
  $("review-meter-label").textContent =
    `Estimated ${cents(est.total_cents)} of the ${cents(est.budget_cap_cents)} cap per run (${pct}%).`;

  const reason = $("review-reason");
  reason.className = "reason";
  if (est.verdict === "over_cap") {
    reason.textContent = `Over budget: the estimate of ${cents(est.total_cents)} is above the ` +
      `${cents(est.budget_cap_cents)} cap, so this run cannot start. Choose fewer categories or raise the cap in Budget settings.`;
    reason.classList.add("over");
  } else if (est.verdict === "soft_warning") {
    reason.textContent = `Warning: this run would use ${pct}% of the ${cents(est.budget_cap_cents)} cap ` +
      `(warnings start at ${est.soft_warning_percent}%). It stops before it would cross the cap.`;
    reason.classList.add("warn");
  } else {
    reason.textContent = "Within budget.";
  }
  // The hub's `warnings` restate the verdict, which the reason line above already says in
  // full: listing them too showed the soft warning twice.
  const extra = est.verdict === "within_budget" ? est.warnings || [] : [];
  $("review-warnings").replaceChildren(...extra.map((w) => el("li", { text: w })));
  $("review-confirm").disabled = est.verdict === "over_cap";
}

async function confirm() {
  if (!pending || pending.verdict === "over_cap") return;
  const button = $("review-confirm");
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const body = { category_ids: pending.ids };
    if (pending.name) body.name = pending.name;
    const run = await api("POST", "/runs", body);
    pending = null;
    $("review-dialog").close();
    onCreated(run);
  } catch (err) {
    const reason = $("review-reason");
    reason.className = "reason over";
    reason.textContent = err.code === "over_budget" ? `Over budget: ${err.message}` : `Could not start the run: ${err.message}`;
    if (err.code === "over_budget") pending.verdict = "over_cap";
  } finally {
    button.textContent = "Confirm and start";
    button.disabled = !pending || pending.verdict === "over_cap";
  }
}

/** created(run) is called with the hub's 201 answer (the run and its `warnings`). */
export function initReviewDialog(created) {
  onCreated = created;
  $("review-cancel").addEventListener("click", () => $("review-dialog").close());
  $("review-confirm").addEventListener("click", confirm);
  $("review-dialog").addEventListener("close", () => { pending = null; });
}
