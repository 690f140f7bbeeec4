// Boot: session check or login, then the automation page wired to REST and the hub socket.
import { api } from "./api.js";
import { showBadge, showConnection } from "./badge.js";
import { loadCategories, initReview } from "./review.js";
import { RunCards } from "./runs.js";
import { initSettings, loadSettings } from "./settings.js";
import { HubSocket } from "./socket.js";
import { Timeline } from "./timeline.js";

async function start() {
  let session = null;
  try { session = await api("GET", "/session"); } catch (e) { session = null; }
  if (!session || !session.authenticated) {
    showLogin();
    return;
  }
  document.getElementById("app").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("logout").addEventListener("click", async () => {
    await api("DELETE", "/session");
    location.reload();
  });

  const socket = new HubSocket({ onStatus: showConnection });
  const timeline = new Timeline();
  const cards = new RunCards(socket, (run) => timeline.prepend(run));
  socket.subscribe("org", (e) => {
    if (e.type === "snapshot") {
      showBadge(e.badge);
      for (const run of e.runs) cards.update(run);
    } else if (e.type === "badge") {
      showBadge(e);
    } else if (e.type === "run") {
      cards.update(e);
    }
  });
  socket.start();
  initSettings(() => {});
  initReview((run) => cards.update(run, { expand: true }));
  await Promise.all([loadSettings(), loadCategories(), timeline.load(true)]);
}

function showLogin() {
  document.getElementById("login").hidden = false;
  document.getElementById("token").focus();
  document.getElementById("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = document.getElementById("login-error");
    error.textContent = "";
    try {
      await api("POST", "/session", { token: document.getElementById("token").value.trim() });
      location.reload();
    } catch (err) {
      error.textContent = err.status === 401 ? "That token is unknown or revoked." : err.message;
    }
  });
}

start();
