// The review console in a real headless browser (Chromium over the DevTools protocol; Node's own
// WebSocket, no npm package): log in with the printed token, open a listing waiting for review,
// see its photos with their boxes, approve it with an overridden price, and check the published
// ListingPriced event carries the override and the reviewer; then answer a QA listing and check
// its qa/ record. Writes a screenshot of the listing page when SCREENSHOT=path is set.
//
//   scripts/review/browser_test.sh   (installs the pinned Node and Chromium, then runs this)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const binary = process.argv[2] ?? "target/debug/damage-pricing";
const chromium = process.env.CHROMIUM ?? "chromium";
const state = mkdtempSync(join(tmpdir(), "review-state-"));
const profile = mkdtempSync(join(tmpdir(), "review-browser-"));
const fail = (message) => { throw new Error(message); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startConsole() {
  const child = spawn(binary, ["review", "--port", "0", "--qa-fraction", "1", "--reviewer", "ana", "--state", state],
    { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  for (let i = 0; i < 600; i++) {
    const url = out.match(/Review console: (http:\/\/127\.0\.0\.1:\d+\/)/);
    const token = out.match(/Login token for ana: ([0-9a-f]+)/);
    if (url && token) return { child, url: url[1], token: token[1] };
    if (child.exitCode !== null) fail(`damage-pricing review exited: ${out}`);
    await sleep(500);
  }
  fail(`the console did not start: ${out}`);
}

async function startBrowser() {
  const child = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
    "--remote-debugging-port=0", "--window-size=1400,1000", "about:blank"], { stdio: "ignore" });
  const file = join(profile, "DevToolsActivePort");
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(200);
  const [port, path] = readFileSync(file, "utf8").trim().split("\n");
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let id = 0;
  const pending = new Map();
  const listeners = [];
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result);
    } else {
      listeners.forEach((l) => l(msg));
    }
  };
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const n = ++id;
    pending.set(n, { resolve, reject });
    ws.send(JSON.stringify({ id: n, method, params, sessionId }));
  });
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  await page("Page.enable");
  const loaded = () => new Promise((resolve) => {
    const l = (msg) => {
      if (msg.method === "Page.loadEventFired" && msg.sessionId === sessionId) {
        listeners.splice(listeners.indexOf(l), 1);
        resolve();
      }
    };
    listeners.push(l);
  });
  const evaluate = async (expression) => {
    const r = await page("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) fail(`page script failed: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  };
  const go = async (url) => { const l = loaded(); await page("Page.navigate", { url }); await l; };
  // A form's answer is the next document: the old one is marked, and the new one has loaded when
  // the mark is gone (load events alone race with the first navigation of a fresh browser).
  const submit = async (expression) => {
    await evaluate(`window.__submitted = true; (() => { ${expression} })()`);
    for (let i = 0; i < 400; i++) {
      const ready = await evaluate(`!window.__submitted && document.readyState === "complete"`).catch(() => false);
      if (ready) return;
      await sleep(50);
    }
    fail("the form's answer never loaded");
  };
  return { child, ws, page, evaluate, go, submit };
}

function events() {
  const dir = join(state, "review", "local-aws", "events", "default");
  return existsSync(dir) ? readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8"))) : [];
}

const server = await startConsole();
const browser = await startBrowser();
try {
  await browser.go(`${server.url}login`);
  await browser.submit(`document.querySelector('#token').value = ${JSON.stringify(server.token)};
                        document.querySelector('form.login').submit()`);
  const hrefs = await browser.evaluate(`[...document.querySelectorAll('table.queue tr.status-waiting a')].map((a) => a.getAttribute('href'))`);
  if (hrefs.length === 0) fail(`no listing waits for a review: ${await browser.evaluate("document.body.innerText")}`);
  let listing = null;
  let seen = null;
  for (const href of hrefs) {
    await browser.go(server.url + href.slice(1));
    await sleep(300);
    seen = await browser.evaluate(`({photos: document.querySelectorAll('.photo img').length,
      loaded: [...document.querySelectorAll('.photo img')].every((i) => i.complete && i.naturalWidth > 0),
      boxes: document.querySelectorAll('.frame .box').length, max: Number(document.querySelector('#adjusted_price').max)})`);
    if (seen.photos > 0 && seen.loaded && seen.boxes > 0) { listing = href.split("/").pop(); break; }
  }
  if (!listing) fail(`no waiting listing shows photos with boxes: ${JSON.stringify(seen)}`);
  if (process.env.SCREENSHOT) {
    const shot = await browser.page("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
    writeFileSync(process.env.SCREENSHOT, Buffer.from(shot.data, "base64"));
  }
  const price = Math.floor(seen.max * 0.9);
  await browser.submit(`document.querySelector('#adjusted_price').value = '${price}';
                        document.querySelector('#approve').click()`);
  const status = await browser.evaluate(`document.querySelector('#task-status').innerText`);
  if (!status.includes("approve by ana")) fail(`after approving: ${status}`);
  const published = events().find((e) => e.detail.listing_id === listing && e.detail.reviewed_by);
  if (!published || published.detail.reviewed_by !== "ana" || published.detail.adjusted_price !== price) {
    fail(`published event of ${listing}: ${JSON.stringify(published?.detail ?? null)}`);
  }
  console.log(`ok: ${listing} approved at ${price} by ana through the browser; ${seen.photos} photos, ${seen.boxes} boxes`);

  await browser.go(`${server.url}qa`);
  const qaHref = await browser.evaluate(`document.querySelector('table.queue a')?.getAttribute('href')`);
  if (!qaHref) fail("the QA sample is empty");
  const qaListing = qaHref.split("/").pop();
  await browser.go(server.url + qaHref.slice(1));
  await browser.submit(`
    const groups = new Set([...document.querySelectorAll('input[type=radio]')].map((r) => r.name));
    groups.forEach((g) => document.querySelector('input[name="' + g + '"][value=right]').click());
    const set = (n, v) => { document.querySelector('[name="' + n + '"]').value = v; };
    set('m0_0_label', 'dent'); set('m0_0_x1', '10'); set('m0_0_y1', '10'); set('m0_0_x2', '60'); set('m0_0_y2', '50');
    document.querySelector('#submit-qa').click();`);
  const qaRoot = join(state, "review", "data", "qa");
  const record = readdirSync(qaRoot).map((d) => join(qaRoot, d, `${qaListing}.json`)).find(existsSync);
  if (!record) fail(`no qa/ record for ${qaListing}`);
  const qa = JSON.parse(readFileSync(record, "utf8"));
  const missed = qa.damages.filter((d) => !d.detected).length;
  if (qa.reviewer !== "ana" || missed !== 1) fail(`qa record: ${JSON.stringify(qa)}`);
  console.log(`ok: QA of ${qaListing} recorded ${qa.damages.length} damages (${missed} missed) in ${record.slice(state.length)}`);
} finally {
  browser.ws.close();
  browser.child.kill();
  server.child.kill();
  await sleep(500);
  rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
}
