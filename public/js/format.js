// Formatting shared by the views.

export function cents(value) {
  const v = Math.round(value || 0);
  return (v < 0 ? "-$" : "$") + (Math.abs(v) / 100).toFixed(2);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

export function duration(start, end) {
  if (!start) return "–";
  const s = Math.max(0, Math.round(((end ? new Date(end) : new Date()) - new Date(start)) / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The state line of a run in words: status plus why. */
export function stateText(run, now = Date.now()) {
  const r = run.status_reason;
  switch (run.status) {
    case "pending": return r === "waiting_for_slot" ? "waiting for a slot" : "pending";
    case "running": return "running";
    case "paused":
      if (r === "provider_unavailable") {
        const secs = run.next_retry_at ? Math.max(0, Math.ceil((new Date(run.next_retry_at) - now) / 1000)) : null;
        return secs === null ? "provider unavailable — retrying" : `provider unavailable — retrying in ${secs} s`;
      }
      return r === "admin" ? "paused by admin" : "paused";
    case "completed": return r === "budget_exhausted" ? "completed — budget exhausted" : "completed";
    case "cancelled": return "cancelled";
    case "failed": return "failed" + (r ? ` — ${r.replaceAll("_", " ")}` : "");
    default: return run.status;
  }
}

export const isLive = (status) => status === "pending" || status === "running" || status === "paused";
