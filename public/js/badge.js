// The nav badge: running collections, live from the org topic.

export function showBadge(badge) {
  const count = document.getElementById("badge-count");
  const box = document.getElementById("badge");
  count.textContent = String(badge.running);
  box.classList.toggle("active", badge.running > 0);
  box.title = `${badge.running} running, ${badge.pending} pending, ${badge.paused} paused`;
}

export function showConnection(connected) {
  const conn = document.getElementById("conn");
  conn.textContent = connected ? "live" : "reconnecting…";
  conn.className = "conn " + (connected ? "conn-on" : "conn-off");
}
