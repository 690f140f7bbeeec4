"""The admin automation dashboard in a real Chromium against a real hub."""
import time


def card_ids(page):
    return set(page.eval_on_selector_all("article.run[data-run]", "els => els.map(e => e.dataset.run)"))


def start_via_dialog(page, *categories):
    before = card_ids(page)
    for c in categories:
        page.check(f"#cat-{c}")
    page.click("#review")
    page.wait_for_selector("#review-dialog[open]")
    page.click("#review-confirm")
    page.wait_for_selector("#review-dialog:not([open])", state="attached")
    deadline = time.time() + 15
    while time.time() < deadline:
        new = card_ids(page) - before
        if new:
            return new.pop()
        time.sleep(0.05)
    raise AssertionError("no card appeared for the new run")


def feed_seqs(page, run_id):
    return [int(s) for s in page.eval_on_selector_all(f'article[data-run="{run_id}"] .feed li', "els => els.map(e => e.dataset.seq)")]


def test_review_dialog_starts_a_run_and_the_feed_fills_live(page, hub):
    page.check("#cat-collectibles")
    page.click("#review")
    page.wait_for_selector("#review-dialog[open]")
    assert "Amazon calls" in page.inner_text("#review-rows")
    assert "Collectibles" in page.inner_text("#review-rows")
    page.screenshot(path="test-artifacts/review-dialog.png")
    before = card_ids(page)
    page.click("#review-confirm")
    deadline = time.time() + 15
    while not (card_ids(page) - before) and time.time() < deadline:
        time.sleep(0.05)
    run_id = (card_ids(page) - before).pop()
    page.wait_for_selector(f'article[data-run="{run_id}"] .feed li')
    status_when_first_rows = hub.api("GET", f"/runs/{run_id}")["status"]
    assert status_when_first_rows in ("pending", "running"), "rows appeared only after the run ended"
    page.screenshot(path="test-artifacts/run-in-progress.png", full_page=True)
    hub.wait_run(run_id)
    page.wait_for_selector(f'article[data-run="{run_id}"][data-status="completed"]', timeout=15000)
    page.wait_for_selector(f'#timeline li[data-run="{run_id}"]', timeout=15000)
    page.screenshot(path="test-artifacts/timeline.png", full_page=True)


def test_over_cap_blocks_confirm_and_over_soft_percent_warns(page, hub):
    page.fill("#cap", "2.50")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-saved:has-text('Saved')")
    try:
        # beauty: 30×2¢ + 150×1¢ = $2.10 = 84% of $2.50
        page.check("#cat-beauty")
        page.click("#review")
        page.wait_for_selector("#review-dialog[open]")
        assert "Warning" in page.inner_text("#review-reason")
        assert page.is_enabled("#review-confirm")
        page.click("#review-cancel")
        page.uncheck("#cat-beauty")
        # books: $4.80 > $2.50
        page.check("#cat-books")
        page.click("#review")
        page.wait_for_selector("#review-dialog[open]")
        assert "Over budget" in page.inner_text("#review-reason")
        assert not page.is_enabled("#review-confirm")
        page.screenshot(path="test-artifacts/over-budget.png")
        page.click("#review-cancel")
        # A bad value gets a message next to its field, and nothing is saved.
        page.fill("#soft", "250")
        page.click("#settings-form button[type=submit]")
        assert "1 to 100" in page.inner_text("#soft-error")
        assert hub.api("GET", "/settings")["soft_warning_percent"] == 80
    finally:
        hub.api("PUT", "/settings", {"budget_cap_cents": 2500, "soft_warning_percent": 80, "max_concurrent_runs": 3})


def test_badge_goes_up_when_a_run_starts_and_down_when_it_ends(page, hub):
    # The page's CSP forbids eval, so waits use selectors rather than JS predicates.
    page.wait_for_selector("#badge-count:text-is('0')", timeout=30000)
    run = hub.api("POST", "/runs", {"category_ids": ["collectibles"]})
    page.wait_for_selector("#badge-count:text-is('1')", timeout=15000)
    hub.wait_run(run["id"])
    page.wait_for_selector("#badge-count:text-is('0')", timeout=15000)


def test_pause_and_resume_buttons_change_state_in_page_and_database(page, hub):
    run = hub.api("POST", "/runs", {"category_ids": ["books"], "name": "pause me"})
    card = f'article[data-run="{run["id"]}"]'
    page.wait_for_selector(f"{card}[data-status='running']", timeout=15000)
    page.click(f"{card} button[data-action=pause]")
    page.wait_for_selector(f"{card}[data-status='paused']")
    assert "paused by admin" in page.inner_text(f"{card} .state")
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "paused"
    assert not page.is_enabled(f"{card} button[data-action=pause]")
    page.click(f"{card} button[data-action=resume]")
    page.wait_for_selector(f"{card}[data-status='running']", timeout=15000)
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "running"
    page.click(f"{card} button[data-action=cancel]")
    page.wait_for_selector(f"{card}[data-status='cancelled']")
    assert hub.api("GET", f"/runs/{run['id']}")["status"] == "cancelled"


def test_hub_restart_mid_run_leaves_no_gap_and_no_duplicate(page, hub):
    # While the hub is down the browser logs failed reconnects: expected here.
    page.expected_errors += ["WebSocket connection", "ERR_CONNECTION_REFUSED", "Failed to load resource"]
    run_id = start_via_dialog(page, "collectibles")
    deadline = time.time() + 20
    while len(feed_seqs(page, run_id)) < 15 and time.time() < deadline:
        time.sleep(0.1)
    hub.restart()
    page.wait_for_selector("#conn.conn-on", timeout=30000)
    hub.wait_run(run_id, timeout=90)
    stored = sorted(item["seq"] for item in hub.all_items(run_id))
    assert len(stored) <= 300, "the check below needs every row on the page"
    deadline = time.time() + 20
    while time.time() < deadline and sorted(feed_seqs(page, run_id)) != stored:
        time.sleep(0.2)
    shown = feed_seqs(page, run_id)
    assert len(shown) == len(set(shown)), "duplicate rows in the feed"
    assert sorted(shown) == stored, f"feed differs from the table: {len(shown)} rows vs {len(stored)} items"
    assert shown == sorted(shown, reverse=True), "feed is not newest first"


def test_narrow_screen_is_usable(page, hub):
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path="test-artifacts/narrow.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width})"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement !== document.body")
