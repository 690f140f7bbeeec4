// Budget settings: dollars on screen, cents on the wire. Checked here first, and the hub's
// 422 field messages are shown next to their fields too.
import { api, ApiError } from "./api.js";
import { cents } from "./format.js";

const INPUTS = { budget_cap_cents: "cap", soft_warning_percent: "soft", max_concurrent_runs: "maxruns" };

function setError(field, message) {
  const id = INPUTS[field];
  if (!id) return false;
  document.getElementById(`${id}-error`).textContent = message || "";
  const input = document.getElementById(id);
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return true;
}

function show(s) {
  document.getElementById("cap").value = (s.budget_cap_cents / 100).toFixed(2);
  document.getElementById("soft").value = String(s.soft_warning_percent);
  document.getElementById("maxruns").value = String(s.max_concurrent_runs);
  document.getElementById("settings-summary").textContent =
    `Each run stops before it spends more than ${cents(s.budget_cap_cents)}; ` +
    `the review warns from ${s.soft_warning_percent}% of that; at most ${s.max_concurrent_runs} ` +
    `${s.max_concurrent_runs === 1 ? "run" : "runs"} at once.`;
}

/** The form's values in the API's units, or null after showing what is wrong. */
function read() {
  const capText = document.getElementById("cap").value.trim().replace(/^\$/, "");
  const softText = document.getElementById("soft").value.trim();
  const maxText = document.getElementById("maxruns").value.trim();
  let ok = true;
  const fail = (field, message) => { setError(field, message); ok = false; };
  const capOk = /^\d+(\.\d{1,2})?$/.test(capText);
  const cap = capOk ? Math.round(parseFloat(capText) * 100) : NaN;
  if (!capOk) fail("budget_cap_cents", "Enter an amount in dollars, e.g. 25.00 (at most two decimals).");
  else if (cap < 1 || cap > 10000000) fail("budget_cap_cents", "Enter a cap between $0.01 and $100,000.00.");
  const soft = /^\d+$/.test(softText) ? parseInt(softText, 10) : NaN;
  if (!(soft >= 1 && soft <= 100)) fail("soft_warning_percent", "Enter a whole percentage from 1 to 100.");
  const maxRuns = /^\d+$/.test(maxText) ? parseInt(maxText, 10) : NaN;
  if (!(maxRuns >= 1 && maxRuns <= 100)) fail("max_concurrent_runs", "Enter a whole number from 1 to 100.");
  return ok ? { budget_cap_cents: cap, soft_warning_percent: soft, max_concurrent_runs: maxRuns } : null;
}

export async function loadSettings() {
  show(await api("GET", "/settings"));
}

export function initSettings() {
  const form = document.getElementById("settings-form");
  const status = document.getElementById("settings-saved");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("input", () => { status.textContent = ""; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "";
    Object.keys(INPUTS).forEach((f) => setError(f, ""));
    const body = read();
    if (!body) { form.querySelector("[aria-invalid=true]")?.focus(); return; }
    button.disabled = true;
    try {
      show(await api("PUT", "/settings", body));
      status.textContent = "Saved.";
    } catch (err) {
      const placed = err instanceof ApiError ? err.fields.filter((f) => setError(f.field, f.message)) : [];
      status.textContent = placed.length ? "Not saved: see the messages above." : `Not saved: ${err.message}`;
      form.querySelector("[aria-invalid=true]")?.focus();
    } finally {
      button.disabled = false;
    }
  });
}
