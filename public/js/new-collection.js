// The "New collection" form: category checkboxes with their product counts, an optional
// name, and a Review button that opens the review dialog (nothing starts before Confirm).
import { api } from "./api.js";
import { el } from "./format.js";

let categories = [];

export async function loadCategories() {
  const { items } = await api("GET", "/categories");
  categories = items;
  const box = document.getElementById("categories");
  box.replaceChildren(...items.map((c) => {
    const id = `cat-${c.id}`;
    return el("label", { class: "category", for: id },
      el("input", { type: "checkbox", id, value: c.id, name: "category" }),
      el("span", { class: "category-name", text: c.name }),
      el("span", { class: "muted", text: `${c.expected_products} products · ~${c.expected_sellers_per_product} sellers each` }));
  }));
  summarize();
}

export function categoryById(id) { return categories.find((c) => c.id === id); }

function selectedIds() {
  return [...document.querySelectorAll("#categories input:checked")].map((i) => i.value);
}

function summarize() {
  const ids = selectedIds();
  const products = ids.reduce((n, id) => n + (categoryById(id)?.expected_products || 0), 0);
  document.getElementById("selection-summary").textContent = ids.length
    ? `${ids.length} ${ids.length === 1 ? "category" : "categories"} selected, about ${products} products.`
    : "No category selected.";
}

export function resetNewCollection() {
  document.getElementById("run-name").value = "";
  document.querySelectorAll("#categories input:checked").forEach((i) => { i.checked = false; });
  summarize();
}

/** onReview({ ids, name }) opens the review; it reports failures through the form's error line. */
export function initNewCollection(onReview) {
  const form = document.getElementById("new-form");
  const error = document.getElementById("new-error");
  const button = document.getElementById("review");
  document.getElementById("categories").addEventListener("change", () => { error.textContent = ""; summarize(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const ids = selectedIds();
    if (ids.length === 0) {
      error.textContent = "Choose at least one category.";
      document.querySelector("#categories input")?.focus();
      return;
    }
    button.disabled = true;
    try {
      await onReview({ ids, name: document.getElementById("run-name").value.trim() });
    } catch (err) {
      error.textContent = `Could not estimate the cost: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
