// Boot and client-side routing: session check or login, the nav bar (badge, connection,
// logout) on every page, and /admin/automation wired to REST and the hub socket.
import { api, currentSession, onUnauthorized } from "./api.js";
import { showBadge, showConnection } from "./badge.js";
import { initLogin, showLogin } from "./login.js";
import { initNewCollection, loadCategories, resetNewCollection } from "./new-collection.js";
import { clearNotice, initNotice, showNotice } from "./notice.js";
import { initReviewDialog, openReview } from "./review-dialog.js";
import { RunCards } from "./runs.js";
import { initSettings, loadSettings } from "./settings.js";
import { HubSocket } from "./socket.js";
import { Timeline } from "./timeline.js";

const AUTOMATION = "/admin/automation";
const VIEWS = ["view-login", "view-automation", "view-forbidden", "view-notfound"];
const $ = (id) => document.getElementById(id);

let session = null;
let socket = null;
let mounted = false;

function showView(id) {
  VIEWS.forEach((v) => { $(v).hidden = v !== id; });
}

/** The page for location.pathname. */
function route() {
  let path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/admin" || path === "/index.html") {
    history.replaceState(null, "", AUTOMATION);
    path = AUTOMATION;
  }
  document.querySelectorAll("a[data-route]").forEach((a) => {
    if (a.getAttribute("href") === path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (!session) { showView("view-login"); showLogin(); return; }
  if (path !== AUTOMATION) { showView("view-notfound"); document.title = "Not found · CollectionHub"; return; }
  document.title = "Automation · CollectionHub";
  if (!session.permissions?.includes("admin.automation")) { showView("view-forbidden"); return; }
  showView("view-automation");
  mountAutomation();
}

function mountAutomation() {
  if (mounted) return;
  mounted = true;
  const timeline = new Timeline();
  const cards = new RunCards(socket, (run) => {
    api("GET", `/runs/${run.id}`).then((full) => timeline.add(full), () => timeline.add(run));
  });
  socket.subscribe("org", (e) => {
    if (e.type === "snapshot") {
      if (e.badge) showBadge(e.badge);
      [...(e.runs || [])].reverse().forEach((r) => cards.update(r));
    } else if (e.type === "badge") {
      showBadge(e);
    } else if (e.type === "run") {
      cards.update(e);
    }
  });
  initSettings();
  initNewCollection(openReview);
  initReviewDialog((run) => {
    resetNewCollection();
    cards.update(run, { expand: true, warnings: run.warnings || [] });
    document.querySelector(`article[data-run="${run.id}"] h3`)?.scrollIntoView({ block: "nearest" });
  });
  Promise.all([loadSettings(), loadCategories().then(() => timeline.load(true))])
    .catch((err) => showNotice(`Part of the page could not be loaded: ${err.message}`));
}

function enter(s) {
  session = s;
  $("badge").hidden = false;
  $("conn").hidden = false;
  $("logout").hidden = false;
  socket = new HubSocket({
    onStatus: showConnection,
    // Repeated refusals may mean the session ended rather than the hub being away.
    onDown: (failures) => { if (failures % 3 === 0) currentSession().then((ok) => { if (!ok) ended(); }, () => {}); },
    onStopped: () => ended(), // 4401: the token behind this session was revoked
  });
  if (!s.permissions?.includes("admin.automation")) socket.subscribe("org", (e) => {
    if (e.type === "snapshot" && e.badge) showBadge(e.badge);
    else if (e.type === "badge") showBadge(e);
  });
  socket.start();
  route();
}

function ended() {
  if (!session) return;
  session = null;
  socket?.stop();
  ["badge", "conn", "logout"].forEach((id) => { $(id).hidden = true; });
  showView("view-login");
  showLogin("Your session has ended. Paste a token to log in again.");
}

async function logout() {
  try {
    await api("DELETE", "/session");
    location.reload();
  } catch (err) {
    showNotice(`Could not log out: ${err.message}`);
  }
}

async function boot() {
  initNotice();
  onUnauthorized(ended);
  initLogin(async () => {
    clearNotice();
    // After a session ended mid-visit, a fresh page is simplest.
    if (mounted) { location.reload(); return; }
    try {
      const s = await currentSession();
      if (s) enter(s);
      else showLogin("The hub did not keep the session. Are cookies allowed?");
    } catch (err) {
      showLogin(`Could not check the session: ${err.message}`);
    }
  });
  $("logout").addEventListener("click", logout);
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-route]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    if (a.getAttribute("href") !== location.pathname) history.pushState(null, "", a.getAttribute("href"));
    route();
  });
  window.addEventListener("popstate", route);
  try {
    const s = await currentSession();
    if (s) enter(s);
    else route();
  } catch (err) {
    showView("view-login");
    showLogin();
    showNotice(`The hub is not reachable (${err.message}). Reload the page to try again.`);
  }
}

boot();
