// HubClient (public/js/client.js): reconnect and resume logic against a fake WebSocket and
// a virtual clock. Run with `node --test tests-node/` (make test does).
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, DEFAULTS, HubClient, hubSocketURL, PROTOCOL } from "../public/js/client.js";
import { FakeClock, fakeWebSocketClass, seededRandom } from "./fakes.js";

const RUN = "run:0b7f6c1e-1111-4222-8333-944445555666";
const RUN_ID = RUN.slice(4);

/** A started client on fakes; `log` collects status changes, downs and stops. */
function setup({ token = null, seed = 7 } = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const log = { status: [], downs: [], stopped: [] };
  const client = new HubClient({
    url: "ws://127.0.0.1:9/ws", token, WebSocket: FakeWebSocket, timers: clock.timers, random: seededRandom(seed),
    onStatus: (s, secs) => log.status.push(secs === undefined ? s : `${s} ${secs}`),
    onDown: (n) => log.downs.push(n),
    onStopped: (code) => log.stopped.push(code),
  });
  return { clock, sockets, log, client, last: () => sockets[sockets.length - 1] };
}

/** Advances the clock to just before `ms` and checks nothing reconnected, then to `ms`. */
function expectReconnectAfter(t, ms) {
  const n = t.sockets.length;
  if (ms > 0) {
    t.clock.advance(ms - 1);
    assert.equal(t.sockets.length, n, `no attempt before ${ms} ms`);
    t.clock.advance(1);
  } else {
    t.clock.advance(0);
  }
  assert.equal(t.sockets.length, n + 1, `an attempt at ${ms} ms`);
}

test("backoff doubles from 0.5 s to 8 s with ±15 % jitter", () => {
  const mid = () => 0.5, low = () => 0, high = () => 0.999999;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, mid)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(backoffDelay(0, low), 425);
  assert.equal(backoffDelay(0, high), 575);
  assert.equal(backoffDelay(6, high), 9200);
  const r = seededRandom(1);
  const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(3, r)));
  assert.ok(spread.size > 10, "jitter spreads clients that dropped together");
  for (const d of spread) assert.ok(d >= 3400 && d <= 4600, `${d} within ±15 % of 4 s`);
});

test("connects with the protocol, offers a token as bearer subprotocol, subscribes on open", () => {
  const t = setup({ token: "chub_ab12" });
  t.client.subscribe("org", () => {});
  t.client.start();
  assert.equal(t.last().url, "ws://127.0.0.1:9/ws");
  assert.deepEqual(t.last().protocols, [PROTOCOL, "bearer.chub_ab12"]);
  assert.deepEqual(t.log.status, ["connecting"]);
  t.last().accept();
  assert.deepEqual(t.last().subscribes(), [{ type: "subscribe", topic: "org" }]);
  assert.deepEqual(t.log.status, ["connecting", "connected"]);
  assert.deepEqual(setup().client.protocols, [PROTOCOL], "no token: cookie auth, one subprotocol");
  assert.throws(() => new HubClient({ url: "ws://x/ws", token: "a b" }), /subprotocol/);
});

test("failed attempts back off with seeded jitter and reset after a success", () => {
  const t = setup({ seed: 42 });
  const expected = setup({ seed: 42 }).client.random; // the same sequence the client draws
  t.client.start();
  for (let attempt = 0; attempt < 6; attempt++) {
    t.last().drop(1006);
    expectReconnectAfter(t, backoffDelay(attempt, expected));
  }
  assert.deepEqual(t.log.downs, [1, 2, 3, 4, 5, 6], "each refused attempt is reported");
  t.last().accept();
  t.last().drop(1006);
  expectReconnectAfter(t, backoffDelay(0, expected)); // back to 0.5 s after an open
  assert.match(t.log.status.at(-1), /^reconnecting \d+$/);
});

test("4008 reconnects at once and resumes every run topic from the last item seq", () => {
  const t = setup();
  const got = [];
  t.client.subscribe("org", () => {});
  t.client.subscribe(RUN, (e) => got.push(e));
  t.client.start();
  t.last().accept();
  assert.deepEqual(t.last().subscribes().map((m) => m.since), [undefined, undefined], "fresh: no since");
  t.last().receive({ type: "snapshot", topic: RUN, seq: 3, run: { type: "run", run: RUN_ID, seq: 3 },
    items: [{ type: "item", run: RUN_ID, seq: 2 }, { type: "item", run: RUN_ID, seq: 3 }] });
  t.last().receive([{ type: "seller", run: RUN_ID, seq: 4 }, { type: "item", run: RUN_ID, seq: 5 },
    { type: "run", run: RUN_ID, seq: 9 }]); // a run event's seq is not an item we hold
  assert.equal(got.length, 4);

  t.last().drop(4008, "slow consumer: resume with since");
  expectReconnectAfter(t, 0);
  t.last().accept();
  assert.deepEqual(t.last().subscribes(), [{ type: "subscribe", topic: "org" }, { type: "subscribe", topic: RUN, since: 5 }]);
  assert.deepEqual(t.log.downs, [], "4008 came after an open: not a refusal");
});

test("a caller's since() wins over the seqs the client saw", () => {
  const t = setup();
  let held = 12;
  t.client.subscribe(RUN, () => {}, () => held);
  t.client.start();
  t.last().accept();
  assert.deepEqual(t.last().subscribes(), [{ type: "subscribe", topic: RUN, since: 12 }]);
  held = 40;
  t.last().drop(1001);
  t.clock.advance(DEFAULTS.maxDelayMs * 2);
  t.last().accept();
  assert.equal(t.last().subscribes()[0].since, 40);
});

test("4401 stops for good", () => {
  const t = setup();
  t.client.start();
  t.last().accept();
  t.last().receive({ type: "error", code: "unauthorized", message: "token revoked" });
  t.last().drop(4401, "token revoked");
  t.clock.advance(10 * 60 * 1000);
  assert.equal(t.sockets.length, 1, "no reconnect after 4401");
  assert.deepEqual(t.log.stopped, [4401]);
  assert.equal(t.log.status.at(-1), "stopped");
});

test("stop() cancels a pending reconnect", () => {
  const t = setup();
  t.client.start();
  t.last().drop(1006);
  t.client.stop();
  t.clock.advance(60 * 1000);
  assert.equal(t.sockets.length, 1);
});

test("pings every 20 s, and 45 s of silence counts as a dead connection", () => {
  const t = setup();
  t.client.start();
  t.last().accept();
  const first = t.last();
  t.clock.advance(DEFAULTS.pingEveryMs);
  assert.deepEqual(first.sent.filter((m) => m.type === "ping"), [{ type: "ping", id: 1 }]);
  t.last().receive({ type: "pong", id: "1" });
  t.clock.advance(DEFAULTS.pingEveryMs * 2); // pings at 40 s and 60 s; heard at 20 s
  assert.equal(t.sockets.length, 1, "40 s of silence is still alive");
  t.clock.advance(DEFAULTS.pingEveryMs); // 80 s: 60 s since the pong
  assert.deepEqual(first.closedWith, { code: 4000, reason: "silent" });
  assert.match(t.log.status.at(-1), /^reconnecting/);
  t.clock.advance(DEFAULTS.maxDelayMs * 2);
  assert.equal(t.sockets.length, 2, "reconnected without waiting for the dead socket's close event");
  first.drop(1006); // its late close event changes nothing
  t.clock.advance(DEFAULTS.maxDelayMs * 2);
  assert.equal(t.sockets.length, 2);
});

test("sends stay under the hub's rate limit", () => {
  const t = setup();
  t.client.start();
  t.last().accept();
  for (let i = 0; i < 100; i++) t.client.subscribe(`run:${i}`, () => {});
  assert.equal(t.last().sent.length, DEFAULTS.maxSendsPerSecond);
  t.clock.advance(1000);
  assert.equal(t.last().sent.length, 2 * DEFAULTS.maxSendsPerSecond);
  t.clock.advance(1000);
  assert.equal(t.last().sent.length, 100);
});

test("a topic the hub could not serve is asked for again after 2 s; other errors reach it", () => {
  const t = setup();
  const got = [];
  t.client.subscribe(RUN, (e) => got.push(e.code));
  t.client.start();
  t.last().accept();
  t.last().receive({ type: "error", code: "unavailable", topic: RUN, message: "database away" });
  t.clock.advance(DEFAULTS.topicRetryMs - 1);
  assert.equal(t.last().subscribes().length, 1);
  t.clock.advance(1);
  assert.equal(t.last().subscribes().length, 2);
  t.last().receive({ type: "error", code: "not_found", topic: RUN, message: "no such run" });
  assert.deepEqual(got, ["not_found"]);
});

test("org topic gets badges and run states; run topics get their own events", () => {
  const t = setup();
  const org = [], run = [];
  t.client.subscribe("org", (e) => org.push(e.type));
  t.client.subscribe(RUN, (e) => run.push(e.type));
  t.client.start();
  t.last().accept();
  t.last().receive({ type: "hello", protocol: PROTOCOL });
  t.last().receive([{ type: "badge", running: 1 }, { type: "run", run: RUN_ID }, { type: "item", run: RUN_ID, seq: 1 }]);
  t.last().receive({ type: "snapshot", topic: "org", runs: [], badge: { type: "badge", running: 0 } });
  assert.deepEqual(org, ["badge", "run", "snapshot"]);
  assert.deepEqual(run, ["run", "item"]);
});

test("hubSocketURL maps http(s) to ws(s) and defaults to the page's origin", () => {
  assert.equal(hubSocketURL("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
  assert.equal(hubSocketURL("https://hub.example/admin/"), "wss://hub.example/ws");
  assert.equal(hubSocketURL("", "http://localhost:3000/page"), "ws://localhost:3000/ws");
});
