// <collection-status hub="https://hub.example" token="chub_…" href="…">: the dashboard's
// running-collections badge as a self-contained element for other apps' navigation bars.
// Shadow DOM keeps the host page's CSS out; the styles are a constructed stylesheet, which
// a strict CSP (no inline style) allows. It follows the `org` topic through HubClient.
import { HubClient, hubSocketURL } from "./client.js";

const STYLE = `
:host { display: inline-block; font: inherit; }
.badge { display: inline-block; border-radius: 1em; padding: .15em .7em;
  background: var(--collection-status-bg, #33415f); color: var(--collection-status-fg, #fff);
  font-size: .9em; white-space: nowrap; text-decoration: none; }
.badge.active { background: var(--collection-status-active-bg, #1c7f46); }
a { color: inherit; text-decoration: none; border-radius: 1em; }
a:focus-visible { outline: 3px solid #f2b705; outline-offset: 2px; }
.dot { display: inline-block; width: .5em; height: .5em; margin-right: .35em; vertical-align: .05em;
  border-radius: 50%; background: #9aa5b8; }
.active .dot { background: #b8f5cf; }
.extra, .state { font-size: .85em; }
.state:empty { display: none; }
`;

const STATE_WORDS = { connecting: "connecting…", connected: "", reconnecting: "reconnecting…", stopped: "disconnected" };

let sheet = null; // one stylesheet shared by every instance
function styles() {
  if (!sheet && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
  }
  return sheet ? [sheet] : [];
}

export class CollectionStatus extends HTMLElement {
  static observedAttributes = ["hub", "token", "href"];

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = styles();
    // The link (to the dashboard) wraps the live region: role=status on the <a> itself
    // would hide that it is a link.
    this.link = document.createElement("a");
    this.link.setAttribute("part", "link");
    this.box = document.createElement("span");
    this.box.className = "badge";
    this.box.setAttribute("part", "badge");
    this.box.setAttribute("role", "status");
    this.box.setAttribute("aria-live", "polite");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.setAttribute("aria-hidden", "true");
    this.count = document.createElement("span");
    this.count.className = "count";
    this.count.setAttribute("part", "count");
    this.count.textContent = "–";
    this.extra = document.createElement("span");
    this.extra.className = "extra";
    this.state = document.createElement("span");
    this.state.className = "state";
    this.box.append(dot, this.count, " running", this.extra, this.state);
    this.link.append(this.box);
    root.append(this.link);
    this.client = null;
    this.queued = false;
  }

  connectedCallback() { this.schedule(); }
  disconnectedCallback() { this.client?.stop(); this.client = null; }
  attributeChangedCallback() { this.schedule(); }

  /** One (re)connect per task: an upgrade reports every attribute, then connects. */
  schedule() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => { this.queued = false; if (this.isConnected) this.restart(); });
  }

  restart() {
    this.client?.stop();
    const hub = this.getAttribute("hub") || "";
    const href = this.getAttribute("href") ?? new URL("/admin/automation", hub || location.href).href;
    if (href) this.link.setAttribute("href", href); else this.link.removeAttribute("href");
    try {
      this.client = new HubClient({ url: hubSocketURL(hub), token: this.getAttribute("token") || null,
        onStatus: (s) => this.showState(s) });
    } catch (err) {
      this.client = null;
      this.showState("stopped");
      return;
    }
    this.client.subscribe("org", (e) => {
      if (e.type === "snapshot" && e.badge) this.showBadge(e.badge);
      else if (e.type === "badge") this.showBadge(e);
    });
    this.client.start();
  }

  showState(state) {
    this.dataset.state = state;
    this.state.textContent = STATE_WORDS[state] ? ` · ${STATE_WORDS[state]}` : "";
  }

  showBadge(b) {
    const running = Number(b.running) || 0, pending = Number(b.pending) || 0, paused = Number(b.paused) || 0;
    this.count.textContent = String(running);
    this.box.classList.toggle("active", running > 0);
    const extra = [pending && `${pending} waiting`, paused && `${paused} paused`].filter(Boolean).join(", ");
    this.extra.textContent = extra ? ` (${extra})` : "";
    this.box.title = `${running} running, ${pending} pending, ${paused} paused`;
    this.dataset.running = String(running);
    // Host apps may react too (e.g. a favicon dot) without reaching into the shadow root.
    this.dispatchEvent(new CustomEvent("collection-status", { detail: { running, pending, paused } }));
  }
}

if (!customElements.get("collection-status")) customElements.define("collection-status", CollectionStatus);
