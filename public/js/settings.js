// Budget settings form: dollars on screen, cents on the wire; messages next to the fields.
import { api, ApiError } from "./api.js";

const fields = { budget_cap_cents: "cap", soft_warning_percent: "soft", max_concurrent_runs: "maxruns" };

export async function loadSettings() {
  const s = await api("GET", "/settings");
  document.getElementById("cap").value = (s.budget_cap_cents / 100).toFixed(2);
  document.getElementById("soft").value = s.soft_warning_percent;
  document.getElementById("maxruns").value = s.max_concurrent_runs;
  return s;
}

function setError(field, message) {
  const id = fields[field];
  document.getElementById(`${id}-error`).textContent = message || "";
  document.getElementById(id).setAttribute("aria-invalid", message ? "true" : "false");
}

export function initSettings(onSaved) {
  const form = document.getElementById("settings-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const saved = document.getElementById("settings-saved");
    saved.textContent = "";
    Object.keys(fields).forEach((f) => setError(f, ""));
    const cap = Math.round(parseFloat(document.getElementById("cap").value) * 100);
    const soft = parseInt(document.getElementById("soft").value, 10);
    const maxRuns = parseInt(document.getElementById("maxruns").value, 10);
    let ok = true;
    if (!(cap >= 1 && cap <= 10000000)) { setError("budget_cap_cents", "Enter a cap between $0.01 and $100,000."); ok = false; }
    if (!(soft >= 1 && soft <= 100)) { setError("soft_warning_percent", "Enter a percentage from 1 to 100."); ok = false; }
    if (!(maxRuns >= 1 && maxRuns <= 100)) { setError("max_concurrent_runs", "Enter a number from 1 to 100."); ok = false; }
    if (!ok) return;
    try {
      const s = await api("PUT", "/settings", { budget_cap_cents: cap, soft_warning_percent: soft, max_concurrent_runs: maxRuns });
      saved.textContent = "Saved.";
      onSaved(s);
    } catch (err) {
      if (err instanceof ApiError && err.fields.length) err.fields.forEach((f) => setError(f.field, f.message));
      else saved.textContent = err.message;
    }
  });
}
