// New collection: category choice, then a review dialog (breakdown, budget meter, soft
// warning, hard block above the cap) before anything starts.
import { api } from "./api.js";
import { cents, el } from "./format.js";

export async function loadCategories() {
  const { items } = await api("GET", "/categories");
  const box = document.getElementById("categories");
  box.replaceChildren(...items.map((c) => {
    const id = `cat-${c.id}`;
    return el("label", { for: id }, el("input", { type: "checkbox", id, value: c.id, name: "category" }),
      `${c.name} (${c.expected_products} products)`);
  }));
}

export function initReview(onCreated) {
  const dialog = document.getElementById("review-dialog");
  const confirm = document.getElementById("review-confirm");
  let pending = null;

  document.getElementById("new-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = document.getElementById("new-error");
    error.textContent = "";
    const ids = [...document.querySelectorAll("#categories input:checked")].map((i) => i.value);
    if (ids.length === 0) { error.textContent = "Choose at least one category."; return; }
    const name = document.getElementById("run-name").value.trim();
    let estimate;
    try {
      estimate = await api("POST", "/estimate", { category_ids: ids });
    } catch (err) { error.textContent = err.message; return; }
    pending = { ids, name };
    show(estimate);
    dialog.showModal();
    (confirm.disabled ? document.getElementById("review-cancel") : confirm).focus();
  });

  function show(est) {
    document.getElementById("review-products").textContent =
      `${est.expected_products} products and ~${est.expected_sellers} seller lookups in ${est.categories.length} ${est.categories.length === 1 ? "category" : "categories"}.`;
    document.getElementById("review-rows").replaceChildren(...est.categories.map((c) =>
      el("tr", {}, el("td", { text: c.name }), el("td", { text: c.summary }))));
    const pct = est.percent_of_cap;
    const meter = document.getElementById("review-meter");
    meter.style.width = `${Math.min(100, pct)}%`;
    meter.className = "meter-fill" + (est.verdict === "over_cap" ? " over" : est.verdict === "soft_warning" ? " warn" : "");
    document.getElementById("review-total").textContent =
      `Total ${cents(est.total_cents)} of the ${cents(est.budget_cap_cents)} budget cap (${pct}%).`;
    const reason = document.getElementById("review-reason");
    if (est.verdict === "over_cap") {
      reason.textContent = `Over budget: the estimate is above the ${cents(est.budget_cap_cents)} cap. Choose fewer categories or raise the cap.`;
      confirm.disabled = true;
    } else if (est.verdict === "soft_warning") {
      reason.textContent = `Warning: this uses ${pct}% of the budget cap (warning from ${est.soft_warning_percent}%).`;
      confirm.disabled = false;
    } else {
      reason.textContent = "";
      confirm.disabled = false;
    }
  }

  document.getElementById("review-cancel").addEventListener("click", () => dialog.close());
  confirm.addEventListener("click", async () => {
    if (!pending) return;
    confirm.disabled = true;
    try {
      const body = { category_ids: pending.ids };
      if (pending.name) body.name = pending.name;
      const run = await api("POST", "/runs", body);
      dialog.close();
      document.getElementById("run-name").value = "";
      document.querySelectorAll("#categories input:checked").forEach((i) => { i.checked = false; });
      onCreated(run);
    } catch (err) {
      document.getElementById("review-reason").textContent = err.message;
    } finally {
      confirm.disabled = document.getElementById("review-meter").classList.contains("over");
    }
  });
}
