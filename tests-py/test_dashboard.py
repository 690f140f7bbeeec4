"""The admin automation dashboard (public/) in a real Chromium against a real hub.

The page runs under the hub's strict CSP, which forbids eval: waits use selectors or poll
from Python (wait_until) rather than page.wait_for_function."""
import json
import re
import time

import pytest

from conftest import ARTIFACTS, login, running_hub, wait_until, watch_console

SHOTS = ARTIFACTS




def shot(page, name, full=True):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def card(run_id):
    return f'article.run[data-run="{run_id}"]'


def card_ids(page):
    return set(page.eval_on_selector_all("article.run[data-run]", "els => els.map(e => e.dataset.run)"))


def feed_seqs(page, run_id):
    return [int(s) for s in page.eval_on_selector_all(f"{card(run_id)} .feed li[data-seq]", "els => els.map(e => e.dataset.seq)")]


def open_review(page, *categories):
    for checked in page.eval_on_selector_all("#categories input:checked", "els => els.map(e => '#' + e.id)"):
        page.uncheck(checked)
    for c in categories:
        page.check(f"#cat-{c}")
    page.click("#review")
    page.wait_for_selector("#review-dialog[open]")


def start_via_dialog(page, *categories, name=None):
    before = card_ids(page)
    if name:
        page.fill("#run-name", name)
    open_review(page, *categories)
    page.click("#review-confirm")
    page.wait_for_selector("#review-dialog[open]", state="detached")
    return wait_until(lambda: (card_ids(page) - before) and (card_ids(page) - before).pop(), message="a card for the new run")


def test_login_rejects_a_bad_token_and_logout_returns_to_the_form(browser, hub):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    watch_console(page)
    try:
        page.goto(hub.url + "/")
        page.wait_for_selector("#view-login:not([hidden])", timeout=15000)
        assert page.evaluate("location.pathname") == "/admin/automation", "/ routes to the automation page"
        assert page.is_visible("nav .brand"), "the nav bar is on the login page too"
        shot(page, "login", full=False)
        page.fill("#token", "chub_not_a_real_token")
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#login-error:has-text('unknown or revoked')", timeout=15000)
        assert page.is_hidden("#view-automation")

        login(page, hub)
        cookie = next(c for c in context.cookies() if c["name"] == "chub_session")
        assert cookie["httpOnly"], "the session cookie must be HttpOnly"
        page.reload()  # the cookie, not the token, keeps the session
        page.wait_for_selector("#view-automation:not([hidden])", timeout=15000)

        page.goto(hub.url + "/admin/nothing-here")  # SPA fallback: routed on the client
        page.wait_for_selector("#view-notfound:not([hidden])", timeout=15000)
        page.click("#view-notfound a[data-route]")
        page.wait_for_selector("#view-automation:not([hidden])", timeout=15000)
        assert page.evaluate("location.pathname") == "/admin/automation"

        page.click("#logout")
        page.wait_for_selector("#view-login:not([hidden])", timeout=15000)
        assert page.evaluate("fetch('/api/v1/session').then(r => r.json()).then(j => j.authenticated !== false && !!j.org_id)") is False
        # The wrong token's 401 is logged by Chromium as a failed resource load: that one is expected.
        unexpected = [e for e in page.console_errors if "401" not in e]
        assert unexpected == [], f"console errors: {unexpected}"
    finally:
        context.close()


def test_review_dialog_starts_a_run_and_the_feed_fills_live(page, hub):
    shot(page, "automation")
    page.fill("#run-name", "Dialog run")
    open_review(page, "collectibles", "beauty")
    estimate = hub.api("POST", "/estimate", {"category_ids": ["collectibles", "beauty"]})
    rows = page.inner_text("#review-rows")
    for c in estimate["categories"]:
        assert c["name"] in rows and c["summary"] in rows, f"breakdown lacks {c['summary']}"
    assert "Collectibles" in rows and "25" in rows, "products per category"
    assert str(estimate["expected_products"]) in page.inner_text("#review-products")
    assert "Dialog run" in page.inner_text("#review-name")
    assert "Within budget" in page.inner_text("#review-reason")
    assert page.get_attribute("#review-meter", "aria-valuenow") == str(estimate["percent_of_cap"])
    assert page.is_enabled("#review-confirm")
    assert all(r["name"] != "Dialog run" for r in hub.api("GET", "/runs?limit=5")["items"]), "nothing starts before Confirm"
    shot(page, "review-dialog", full=False)

    before = card_ids(page)
    page.click("#review-confirm")
    run_id = wait_until(lambda: (card_ids(page) - before) and (card_ids(page) - before).pop(), message="the new run's card")
    assert page.inner_text(f"{card(run_id)} h3") == "Dialog run"
    assert page.is_visible(f"{card(run_id)} .feed"), "the feed of a run started here is open"
    assert page.get_attribute(f"{card(run_id)} .counts", "aria-live") == "polite"
    page.wait_for_selector(f"{card(run_id)} .feed li[data-seq]")
    assert hub.api("GET", f"/runs/{run_id}")["status"] in ("pending", "running"), "rows appeared only after the run ended"
    page.wait_for_selector(f"{card(run_id)} .feed li .price")  # a product: title, ASIN and price
    product = page.inner_text(f"{card(run_id)} .feed li:has(.kind-product):has(.price)")
    assert "ASIN B0" in product and "$" in product
    shot(page, "run-in-progress")

    run = hub.wait_run(run_id)
    page.wait_for_selector(f"{card(run_id)}[data-status='completed']")
    for key in ("processed", "failed", "skipped"):
        shown = page.inner_text(f"{card(run_id)} [data-count={key}] dd")
        assert shown == str(run[f"{key}_items"]), f"{key}: page {shown}, database {run[key + '_items']}"
    assert page.get_attribute(f"{card(run_id)} .progress", "aria-valuenow") == "100"
    page.wait_for_selector(f'#timeline li[data-run="{run_id}"]')


def test_over_cap_blocks_confirm_and_over_soft_percent_warns(page, hub):
    try:
        # A value the form refuses itself: the message sits next to its field, nothing is saved.
        page.fill("#soft", "250")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector("#soft-error:has-text('1 to 100')")
        assert page.get_attribute("#soft", "aria-invalid") == "true"
        assert hub.api("GET", "/settings")["soft_warning_percent"] == 80

        # The hub's 422 field messages are shown next to their fields too.
        def reject(route):
            route.fulfill(status=422, content_type="application/json", body=json.dumps({"error": {
                "code": "validation", "message": "concurrent runs must be between 1 and 100",
                "fields": [{"field": "max_concurrent_runs", "message": "concurrent runs must be between 1 and 100"}]}}))
        page.route("**/api/v1/settings", lambda route: reject(route) if route.request.method == "PUT" else route.continue_())
        page.fill("#soft", "80")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector("#maxruns-error:has-text('concurrent runs must be between 1 and 100')")
        page.expected_errors.append("422")
        page.unroute("**/api/v1/settings")

        # The cap through the form, in dollars; stored in cents. Estimates learn from the
        # org's earlier runs (beauty may have run already in this session), so the cap is
        # set to put beauty's estimate at 84% of it, whatever the estimate is now.
        beauty = hub.api("POST", "/estimate", {"category_ids": ["beauty"]})["total_cents"]
        cap = -(-beauty * 100 // 84)
        page.fill("#cap", f"{cap // 100}.{cap % 100:02d}")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector("#settings-saved:has-text('Saved')")
        assert hub.api("GET", "/settings")["budget_cap_cents"] == cap
        assert page.input_value("#cap") == f"{cap // 100}.{cap % 100:02d}"

        # beauty at 83–84% of the cap → a warning, Confirm allowed.
        pct = hub.api("POST", "/estimate", {"category_ids": ["beauty"]})["percent_of_cap"]
        assert 80 <= pct < 100, pct
        open_review(page, "beauty")
        assert "Warning" in page.inner_text("#review-reason")
        assert f"{pct}%" in page.inner_text("#review-reason")
        assert "warn" in page.get_attribute("#review-meter", "class")
        assert page.is_enabled("#review-confirm")
        shot(page, "soft-warning", full=False)
        page.click("#review-cancel")
        page.wait_for_selector("#review-dialog[open]", state="detached")

        # books (catalog $4.80, learned about $3.20) is above the cap → Confirm disabled and the reason says why.
        assert hub.api("POST", "/estimate", {"category_ids": ["books"]})["verdict"] == "over_cap"
        open_review(page, "books")
        reason = page.inner_text("#review-reason")
        assert "Over budget" in reason and f"${cap // 100}.{cap % 100:02d}" in reason and "cannot start" in reason
        assert "over" in page.get_attribute("#review-meter", "class")
        assert not page.is_enabled("#review-confirm")
        shot(page, "over-budget", full=False)
        page.keyboard.press("Escape")
        page.wait_for_selector("#review-dialog[open]", state="detached")
        assert all(r["name"] != "over" for r in hub.api("GET", "/runs?limit=5")["items"])
    finally:
        hub.api("PUT", "/settings", {"budget_cap_cents": 2500, "soft_warning_percent": 80, "max_concurrent_runs": 3})


def test_badge_goes_up_when_a_run_starts_and_down_when_it_ends(page, hub):
    page.wait_for_selector("#badge-count:text-is('0')", timeout=30000)
    assert "active" not in page.get_attribute("#badge", "class")
    run = hub.api("POST", "/runs", {"category_ids": ["collectibles"]})
    page.wait_for_selector("#badge-count:text-is('1')")
    assert "active" in page.get_attribute("#badge", "class")
    page.wait_for_selector(f"{card(run['id'])}")  # a run started elsewhere shows up too
    hub.wait_run(run["id"])
    page.wait_for_selector("#badge-count:text-is('0')")


def test_pause_and_resume_buttons_change_state_in_page_and_database(page, hub):
    run = hub.api("POST", "/runs", {"category_ids": ["books"], "name": "pause me"})
    c = card(run["id"])
    page.wait_for_selector(f"{c}[data-status='running']")
    assert page.is_disabled(f"{c} button[data-action=resume]")
    page.click(f"{c} button[data-action=pause]")
    page.wait_for_selector(f"{c}[data-status='paused']")
    assert "paused by admin" in page.inner_text(f"{c} .state")
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "paused"
    assert page.is_disabled(f"{c} button[data-action=pause]")
    assert page.is_enabled(f"{c} button[data-action=resume]")
    def settled():  # a paused run stops collecting (a call in flight may still land)
        before = hub.api("GET", f"/runs/{run['id']}")["processed_items"]
        time.sleep(0.5)
        return hub.api("GET", f"/runs/{run['id']}")["processed_items"] == before
    wait_until(settled, 10, "the paused run to stop collecting")

    page.click(f"{c} button[data-action=resume]")
    page.wait_for_selector(f"{c}[data-status='running']")
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "running"

    # Cancel asks once more before it acts: the first click sends nothing. (Checked in the
    # page, not with a round trip to the hub: the armed button disarms itself after 5 s.)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.click(f"{c} button[data-action=cancel]")
    assert page.inner_text(f"{c} button[data-action=cancel]") == "Confirm cancel"
    assert not [u for u in posts if u.endswith("/cancel")], posts
    page.click(f"{c} button[data-action=cancel]")
    page.wait_for_selector(f"{c}[data-status='cancelled']")
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "cancelled"
    assert page.is_hidden(f"{c} button[data-action=pause]") and page.is_visible(f"{c} button:has-text('Dismiss')")


def test_hub_restart_mid_run_leaves_no_gap_and_no_duplicate(page, hub):
    # While the hub is down Chromium logs the refused reconnects: expected here.
    page.expected_errors += ["WebSocket connection", "ERR_CONNECTION_REFUSED", "Failed to load resource"]
    subscribes = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: subscribes.append(json.loads(payload))
                                          if '"subscribe"' in str(payload) else None))
    run_id = start_via_dialog(page, "beauty", name="restart me")
    wait_until(lambda: len(feed_seqs(page, run_id)) >= 15, 20, "15 feed rows")
    hub.stop()
    page.wait_for_selector("#conn[data-state=reconnecting]")
    held = max(feed_seqs(page, run_id))
    hub.start()
    page.wait_for_selector("#conn[data-state=connected]", timeout=30000)
    resub = wait_until(lambda: [m for m in subscribes if m.get("topic") == f"run:{run_id}" and "since" in m], 10,
                       "a resubscription with since")
    assert resub[0]["since"] >= held, "resubscribed from the highest seq the page held"

    run = hub.wait_run(run_id, timeout=90)
    assert run["status"] == "completed"
    stored = sorted(item["seq"] for item in hub.all_items(run_id))
    assert stored == list(range(1, len(stored) + 1))
    assert len(stored) <= 300, "the check below needs every row on the page"
    wait_until(lambda: sorted(feed_seqs(page, run_id)) == stored, 20, "the feed to hold every stored item")
    shown = feed_seqs(page, run_id)
    assert len(shown) == len(set(shown)), "duplicate rows in the feed"
    assert sorted(shown) == stored, f"feed differs from the table: {len(shown)} rows vs {len(stored)} items"
    assert shown == sorted(shown, reverse=True), "feed is not newest first"


def test_feed_keeps_300_rows_and_load_older_pages_back(page, hub):
    # Three categories: ~400 items (a seller is written once a run, so fewer than the estimate).
    run = hub.api("POST", "/runs", {"category_ids": ["books", "home-kitchen", "electronics"], "name": "long feed"})
    c = card(run["id"])
    page.wait_for_selector(c)
    page.click(f"{c} .feed-details summary")  # a run started elsewhere: its feed is folded
    hub.wait_run(run["id"], timeout=90)
    stored = sorted((i["seq"] for i in hub.all_items(run["id"])), reverse=True)
    assert len(stored) > 300, f"the run should yield more than 300 items, got {len(stored)}"
    wait_until(lambda: feed_seqs(page, run["id"])[:1] == stored[:1], 20, "the newest item in the feed")
    assert feed_seqs(page, run["id"]) == stored[:300], "the feed keeps the newest 300 rows"
    assert page.is_visible(f"{c} .feed-box button:has-text('Load older')")
    while page.is_visible(f"{c} .feed-box button:has-text('Load older')"):
        n = len(feed_seqs(page, run["id"]))
        page.click(f"{c} .feed-box button:has-text('Load older')")
        wait_until(lambda: len(feed_seqs(page, run["id"])) > n, 10, "an older page")
    shown = feed_seqs(page, run["id"])
    assert shown == stored, "after paging back the feed holds every item once, newest first"


def test_history_timeline_shows_finished_runs_with_failed_items(page, hub):
    done = hub.api("POST", "/runs", {"category_ids": ["collectibles"], "name": "history run"})
    gone = hub.api("POST", "/runs", {"category_ids": ["tools"], "name": "cancelled run"})
    hub.api("POST", f"/runs/{gone['id']}/cancel")
    run = hub.wait_run(done["id"])
    page.reload()
    page.wait_for_selector(f'#timeline li[data-run="{run["id"]}"]')
    page.wait_for_selector(f'#timeline-strip .bar.t-completed[data-run="{run["id"]}"]')
    page.wait_for_selector(f'#timeline-strip .bar.t-cancelled[data-run="{gone["id"]}"]')

    page.click(f'#timeline-strip .bar[data-run="{run["id"]}"]')  # the chart opens the entry
    entry = f'#timeline li[data-run="{run["id"]}"]'
    page.wait_for_selector(f"{entry} details[open]")
    facts = page.inner_text(f"{entry} .facts")
    assert str(run["processed_items"]) in facts and "Duration" in facts and "$" in facts
    failed = []
    cursor = None
    while True:
        p = hub.api("GET", f"/runs/{run['id']}/items?status=failed&limit=200" + (f"&before={cursor}" if cursor else ""))
        failed += p["items"]
        cursor = p["next_cursor"]
        if cursor is None:
            break
    assert len(failed) == run["failed_items"]
    if failed:
        wait_until(lambda: len(page.query_selector_all(f"{entry} .problem-failed li[data-seq]")) == len(failed), 10,
                   "every failed item")
        text = page.inner_text(f"{entry} .problem-failed")
        for item in failed:
            assert item["error_code"] in text, f"the reason of item {item['seq']} is missing"
    else:
        page.wait_for_selector(f"{entry} .problem-failed li:has-text('None')")
    shot(page, "timeline")

    page.select_option("#timeline-filter", "cancelled")
    page.wait_for_selector(f'#timeline li[data-run="{gone["id"]}"]')
    classes = page.eval_on_selector_all("#timeline > li", "els => els.map(e => e.className)")
    assert classes and all(c == "t-cancelled" for c in classes)
    assert page.query_selector(entry) is None


def test_narrow_screen_keyboard_and_labels(page, hub):
    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width})"
    unlabeled = page.evaluate("""[...document.querySelectorAll('#view-automation input, #view-automation select')]
        .filter(i => i.labels.length === 0).map(i => i.id || i.name)""")
    assert unlabeled == [], f"inputs without a label: {unlabeled}"
    assert page.get_attribute("#badge", "aria-live") == "polite"

    # Everything reachable with Tab; the review dialog with the keyboard alone.
    reached = set()
    page.focus("body")
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    for needed in ("cat-electronics", "run-name", "review", "cap", "soft", "maxruns", "timeline-filter"):
        assert needed in reached, f"#{needed} is not reachable with Tab"
    page.focus("#cat-collectibles")
    page.keyboard.press("Space")
    assert page.is_checked("#cat-collectibles")
    page.focus("#review")
    page.keyboard.press("Enter")
    page.wait_for_selector("#review-dialog[open]")
    box = page.locator("#review-dialog").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360, f"the dialog does not fit: {box}"
    assert page.evaluate("document.activeElement.id") == "review-confirm"
    shot(page, "narrow-review", full=False)
    page.keyboard.press("Escape")
    page.wait_for_selector("#review-dialog[open]", state="detached")
    shot(page, "narrow")


@pytest.fixture
def outage_hub():
    """A second hub whose simulated provider answers 503 to paid calls 30-33."""
    yield from running_hub(latency_ms=20, failure_rate=0, extra_args=["--sim-outage", "30-33", "--retry-max-s", "4"])


def test_provider_outage_shows_the_retry_countdown_then_resumes(browser, outage_hub):
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    context.set_default_timeout(15000)
    page = context.new_page()
    watch_console(page)
    try:
        login(page, outage_hub)
        run = outage_hub.api("POST", "/runs", {"category_ids": ["collectibles"], "name": "outage"})
        c = card(run["id"])
        page.wait_for_selector(c)
        # The page records every wording its state line takes (a MutationObserver), so no
        # poll from here can miss a short outage on a busy machine.
        page.evaluate("""sel => {
            window.__states = new Set();
            const note = () => { const s = document.querySelector(sel + ' .state'); if (s) window.__states.add(s.textContent.trim()); };
            new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
            note();
        }""", c)
        page.wait_for_function("""() => [...window.__states].some(s => s.startsWith('provider unavailable'))""", timeout=60000)
        shot(page, "provider-outage", full=False)
        page.wait_for_selector(f"{c}[data-status='completed']", timeout=60000)
        seen = page.evaluate("[...window.__states]")
        waiting = [s for s in seen if re.fullmatch(r"provider unavailable — retrying (in \d+ s|now)", s)]
        assert waiting, f"the outage was never shown in words; saw {sorted(seen)}"
        assert outage_hub.api("GET", f"/runs/{run['id']}")["status"] == "completed"
        assert page.console_errors == [], f"console errors: {page.console_errors}"
    finally:
        context.close()
