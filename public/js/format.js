// Formatting and DOM helpers shared by the views.

/** Cents as dollars: 250 → "$2.50". */
export function cents(value) {
  const v = Math.round(Number(value) || 0);
  return (v < 0 ? "-$" : "$") + (Math.abs(v) / 100).toFixed(2);
}

/** A DOM element: attributes (class, text, data-*, aria-*, …) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** Milliseconds since the epoch, or null for a missing or unreadable time. */
export function timeOf(text) {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

export function duration(start, end) {
  const s0 = timeOf(start);
  if (s0 === null) return "–";
  const s = Math.max(0, Math.round(((timeOf(end) ?? Date.now()) - s0) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function clock(text) {
  const t = timeOf(text);
  return t === null ? "–" : new Date(t).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export const isLive = (status) => status === "pending" || status === "running" || status === "paused";

/** Items done so far (processed, failed or skipped) and the share of the total, 0–100. */
export function progress(run) {
  const done = (run.processed_items || 0) + (run.failed_items || 0) + (run.skipped_items || 0);
  const total = Math.max(run.total_items || 0, done);
  return { done, total, percent: total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0 };
}

/** A run's state in words, with the reason: "provider unavailable — retrying in 8 s". */
export function stateText(run, now = Date.now()) {
  const r = run.status_reason;
  switch (run.status) {
    case "pending":
      if (r === "waiting_for_slot") return "waiting for a slot";
      return r === "waiting_for_executor" ? "waiting for the engine" : "starting";
    case "running": return "running";
    case "paused":
      if (r === "provider_unavailable") {
        const at = timeOf(run.next_retry_at);
        if (at === null) return "provider unavailable — retrying";
        const secs = Math.ceil((at - now) / 1000);
        return secs > 0 ? `provider unavailable — retrying in ${secs} s` : "provider unavailable — retrying now";
      }
      return r === "admin" ? "paused by admin" : "paused";
    case "completed": return r === "budget_exhausted" ? "stopped — budget exhausted" : "completed";
    case "cancelled": return "cancelled";
    case "failed": return "failed" + (r ? ` — ${r.replaceAll("_", " ")}` : "");
    default: return String(run.status || "unknown");
  }
}
