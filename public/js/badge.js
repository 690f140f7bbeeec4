// The nav bar's running-collections badge and connection indicator.

export function showBadge(badge) {
  const running = Number(badge.running) || 0;
  const pending = Number(badge.pending) || 0;
  const paused = Number(badge.paused) || 0;
  const box = document.getElementById("badge");
  document.getElementById("badge-count").textContent = String(running);
  box.classList.toggle("active", running > 0);
  const extra = [pending && `${pending} waiting`, paused && `${paused} paused`].filter(Boolean).join(", ");
  document.getElementById("badge-extra").textContent = extra ? ` (${extra})` : "";
  box.title = `${running} running, ${pending} pending, ${paused} paused`;
}

const LABELS = { connecting: "connecting…", connected: "connected", reconnecting: "reconnecting…", stopped: "disconnected" };

export function showConnection(state, retryInSeconds) {
  const conn = document.getElementById("conn");
  conn.className = `conn conn-${state}`;
  conn.dataset.state = state;
  conn.textContent = LABELS[state] || state;
  conn.title = state === "reconnecting" && retryInSeconds ? `next attempt in ${retryInSeconds} s` : "";
}
