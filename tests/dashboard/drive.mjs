// Drives the dashboard of a real farm in headless Chromium and checks what
// it shows against the CLI (tests/integration/t0038-dashboard.sh runs it).
//
//   node drive.mjs farm  URL              the farm page: jobs, workers, boards as `bitfarm ... --json` says
//   node drive.mjs job   URL ID [STATE]   a job page: follows the job until STATE (default succeeded),
//                                         the live log shows text, the report and the bitstream download
//   node drive.mjs cache URL              the cache page: the numbers of `bitfarm cache stats --json`
//   node drive.mjs token URL TOKEN [ID]   a broker that wants a token: ?token= once, then the tab has it
//                                         (and ID's job page, a queued job, its log stream)
//
// Environment: CHROMIUM (the browser), BF (the bitfarm binary),
// SHOTS (where the screenshots go: PAGE-desktop.png, PAGE-phone.png).
// Prints one line per check: "PASS what" or "FAIL what<TAB>why"; exit
// status 0 when every check passed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from './cdp.mjs';

const [mode, url, arg, arg2] = process.argv.slice(2);
const BF = process.env.BF || 'bitfarm';
const SHOTS = process.env.SHOTS || 'build/screenshots';
let failed = 0;

function pass(what) { console.log('PASS ' + what); }
function fail(what, why) { failed++; console.log('FAIL ' + what + '\t' + String(why).replace(/\s+/g, ' ').slice(0, 600)); }
function check(what, cond, why) { if (cond) pass(what); else fail(what, why); }

function cli(...args) { return JSON.parse(execFileSync(BF, [...args, '--json'], { encoding: 'utf8' })); }

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function firstDiff(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return '';
  return `; they differ at ${i}: page ${JSON.stringify(a.slice(Math.max(0, i - 40), i + 40))}` +
    ` cli ${JSON.stringify(b.slice(Math.max(0, i - 40), i + 40))}`;
}

// Polls until the page's view (an expression) equals what the CLI says
// (a function), both read afresh each time: the farm moves meanwhile.
async function agree(page, what, expr, fromCli, timeoutMs = 12000) {
  const end = Date.now() + timeoutMs;
  let shown, want;
  for (;;) {
    want = fromCli();
    shown = await page.eval(expr);
    if (same(shown, want)) { pass(what); return; }
    if (Date.now() > end) { fail(what, `page: ${JSON.stringify(shown)} cli: ${JSON.stringify(want)}`); return; }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const DESKTOP = [1280, 800, false], PHONE = [390, 844, true];

async function shoot(page, name, loadedExpr) {
  mkdirSync(SHOTS, { recursive: true });
  for (const [w, hgt, mobile] of [DESKTOP, PHONE]) {
    const kind = mobile ? 'phone' : 'desktop';
    await page.viewport(w, hgt, mobile);
    await new Promise((r) => setTimeout(r, 300));
    if (loadedExpr) await page.waitFor(loadedExpr, 10000);
    writeFileSync(join(SHOTS, `${name}-${kind}.png`), await page.screenshot());
    if (mobile) {
      const sw = await page.eval('document.documentElement.scrollWidth');
      check(`${name} page fits a ${w} px phone screen (no sideways scrolling)`, sw <= w, `scrollWidth ${sw}`);
    }
  }
  await page.viewport(...DESKTOP);
}

// The text of the elements matching a selector, keyed by a data attribute.
const rows = (sel, key, val) =>
  `[...document.querySelectorAll(${JSON.stringify(sel)})].map((r) => [r.dataset.${key}, ${val || "''"}])`;

async function farmPage(page) {
  await page.goto(url);
  await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the farm page loads its data');
  pass('the farm page loads its data from the API');

  await agree(page, 'the farm page lists the workers `bitfarm workers` lists',
    rows('#workers tr[data-worker]', 'worker', 'r.querySelector("[data-label=slots] .bar-label").textContent') + '.sort()',
    () => cli('workers').workers.map((w) => [w.name, `${w.busy} / ${w.slots} busy`]).sort());
  await agree(page, 'the farm page shows the boards and states `bitfarm boards` shows',
    rows('#boards tr[data-board]', 'board', 'r.dataset.state') + '.sort()',
    () => cli('boards').boards.map((b) => [b.name, b.state]).sort());
  const jobsFromCli = () => cli('jobs').jobs;
  await agree(page, 'the running jobs are the ones `bitfarm jobs` shows running, with their workers',
    rows('#running tr[data-job-id]', 'jobId', 'r.querySelector("[data-label=worker]").textContent') + '.sort()',
    () => jobsFromCli().filter((j) => j.state === 'running').map((j) => [j.id, j.worker]).sort());
  await agree(page, 'the queue is the jobs `bitfarm jobs` shows queued',
    rows('#queue tr[data-job-id]', 'jobId') + '.sort()',
    () => jobsFromCli().filter((j) => j.state === 'queued').map((j) => [j.id, '']).sort());
  await agree(page, 'the recent jobs are `bitfarm jobs`, newest first, with their states',
    rows('#jobs tr[data-job-id]', 'jobId', 'r.querySelector(".state").textContent'),
    () => jobsFromCli().slice(0, 50).map((j) => [j.id, j.state]));
  const running = await page.eval('[...document.querySelectorAll("#running tr[data-job-id]")].map((r) => r.querySelector("[data-label=stage]").textContent)');
  check('a running job shows its stage', running.length > 0 && running.every((s) => s && s !== '—'), JSON.stringify(running));

  const farm = await page.eval('fetch("api/v1/farm").then((r) => r.json())');
  const shownQueued = await page.eval('document.querySelector("#card-queued .card-value").textContent');
  check('the summary shows /api/v1/farm\'s queue length', shownQueued === String(farm.queued), `${shownQueued} vs ${farm.queued}`);

  // A job error is tool output: it must be shown as text, never as markup.
  const evil = await page.eval(`(() => {
      const cells = [...document.querySelectorAll('#jobs .error-text')].map((e) => e.textContent);
      return { cells, pwned: window.__bitfarm_pwned === 1, imgs: document.querySelectorAll('main img').length };
    })()`);
  const hostile = evil.cells.find((t) => t.includes('<img'));
  check('a job error with HTML in it is shown as text', hostile !== undefined, JSON.stringify(evil.cells));
  check('  ... and none of it runs or becomes an element', !evil.pwned && evil.imgs === 0, JSON.stringify(evil));

  // The filters: ?state=failed shows only failed jobs, as `bitfarm jobs` does.
  await page.eval('document.querySelector("#filters select[name=state]").value = "failed"; document.querySelector("#filters button").click()');
  await agree(page, 'the state filter shows the failed jobs only',
    rows('#jobs tr[data-job-id]', 'jobId', 'r.dataset.state'),
    () => jobsFromCli().filter((j) => j.state === 'failed').slice(0, 50).map((j) => [j.id, 'failed']));
  await page.eval('document.querySelector("#filters select[name=state]").value = ""; document.querySelector("#filters button").click()');

  await shoot(page, 'farm', 'document.body.dataset.loaded === "1"');
}

async function jobPage(page, id, want) {
  await page.goto(new URL('job.html?id=' + encodeURIComponent(id), url).href);
  await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the job page loads its job');
  const first = await page.eval('document.body.dataset.state');
  pass(`the job page of ${id.slice(0, 12)} loads (state ${first})`);
  let final;
  try {
    final = await page.waitFor(`document.body.dataset.state === ${JSON.stringify(want)} && document.body.dataset.logEnded && document.body.dataset.state`,
      180000, `the job to become ${want}`);
  } catch (e) {
    fail(`the job page follows the job to ${want}`, e.message + ' ' + (await page.eval('document.getElementById("log-state").textContent')));
    await shoot(page, 'job-' + want);
    return;
  }
  check(`the job page follows the job to ${want}`, final === want, final);
  const st = cli('status', id);
  check('  ... which is what `bitfarm status` says', st.state === want, st.state);
  const shownId = await page.eval('document.querySelector("#job-details dd .mono").textContent');
  check('  ... for the same job id', shownId === st.id, shownId);
  const log = await page.eval('document.getElementById("job-log").textContent');
  const logState = await page.eval('document.getElementById("log-state").textContent');
  const cliLog = execFileSync(BF, ['logs', id], { encoding: 'utf8' });
  check('the live log shows the job\'s log text', log.length > 100, `${log.length} characters (${logState})`);
  // (an event stream drops carriage returns, and its last line may lack its newline)
  const norm = (t) => t.replace(/\r/g, '').replace(/\n$/, '');
  // The live log is the worker's stream, the final one the log file it
  // hands in; they hold the same bytes (the stage header lines too), so a
  // follower that switches from one to the other at the same offset
  // loses nothing: the page must show exactly `bitfarm logs`.
  const a = norm(log), b = norm(cliLog);
  check('  ... from the log\'s start to its end, without repeats', a === b,
    `page ${log.length} characters, bitfarm logs ${cliLog.length} (${logState})${firstDiff(a, b)}`);
  check('  ... streamed live, as server-sent events', logState === 'ended: ' + want, logState);
  const events = await page.eval('[...document.querySelectorAll("#job-events tbody tr")].map((r) => r.querySelector("[data-label=event]").textContent)');
  const cliEvents = cli('status', id, '--events').events.map((e) => e.event);
  check('the events are the job\'s history', same(events, cliEvents), `page ${JSON.stringify(events)} cli ${JSON.stringify(cliEvents)}`);

  if (want === 'succeeded') {
    const util = await page.eval(rows('#job-report tr[data-resource]', 'resource', 'r.querySelector("[data-label=used] .bar-label").textContent'));
    const lc = st.report && st.report.utilization && st.report.utilization.logic_cells;
    const shownLc = (util.find((u) => u[0] === 'logic_cells') || [])[1] || '';
    check('the report shows the logic cells used, as `bitfarm status`', lc && shownLc.startsWith(String(lc.used) + ' '), `${shownLc} vs ${JSON.stringify(lc)}`);
    const clocks = await page.eval(rows('#job-report tr[data-clock]', 'clock', 'r.querySelector("[data-label=achieved]").textContent'));
    const c0 = st.report && st.report.clocks && st.report.clocks[0];
    check('  ... and Fmax against the target', c0 && clocks.length > 0 && clocks[0][1] === c0.achieved_mhz.toFixed(2) + ' MHz', `${JSON.stringify(clocks)} vs ${JSON.stringify(c0)}`);
    const dl = await page.eval(`(async () => {
        const a = document.querySelector('a.download-bitstream');
        if (!a) return null;
        const b = await (await fetch(a.href)).arrayBuffer();
        const d = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
        return { size: b.byteLength, sha256: [...d].map((x) => x.toString(16).padStart(2, '0')).join('') };
      })()`);
    check('the bitstream download is the job\'s bitstream', dl && dl.sha256 === st.bitstream_sha256, `${JSON.stringify(dl)} vs ${st.bitstream_sha256}`);
  } else {
    const err = await page.eval('document.getElementById("job-error").textContent');
    check('the job page shows the job\'s error, as text', err === st.error, `${JSON.stringify(err)} vs ${JSON.stringify(st.error)}`);
    const pwned = await page.eval('window.__bitfarm_pwned === 1 || document.querySelectorAll("main img").length > 0');
    check('  ... and none of it runs or becomes an element', !pwned, 'it did');
  }
  await shoot(page, 'job-' + want, 'document.body.dataset.loaded === "1"');
}

async function cachePage(page) {
  await page.goto(new URL('cache.html', url).href);
  await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the cache page loads its data');
  pass('the cache page loads its data from the API');
  const fmt = (r) => (r * 100).toFixed(r < 0.1 && r > 0 ? 1 : 0) + ' %';
  await agree(page, 'the cache page shows the hits, misses and hit rate of `bitfarm cache stats`',
    '[document.querySelector("#card-hitrate .card-value").textContent, document.querySelector("#card-hitrate .card-sub").textContent, document.querySelector("#card-entries .card-value").textContent]',
    () => {
      const s = cli('cache', 'stats');
      return [fmt(s.hit_rate), `${s.hits} hit${s.hits === 1 ? '' : 's'}, ${s.misses} miss${s.misses === 1 ? '' : 'es'}`, String(s.entries)];
    });
  await agree(page, '  ... and the window\'s builds and hits',
    '[...document.querySelectorAll("#window-total td")].slice(1, 3).map((t) => t.textContent)',
    () => { const w = cli('cache', 'stats').window; return [String(w.builds), String(w.hits)]; });
  await shoot(page, 'cache', 'document.body.dataset.loaded === "1"');
}

// A broker that wants a token: the page says so; opened once with
// ?token=, it keeps the token for the tab, out of the address bar.
async function tokenPages(page, tok, job) {
  await page.goto(url);
  const said = await page.waitFor('document.getElementById("status").className.includes("err") && document.getElementById("status").textContent', 15000, 'the page to say it has no token');
  check('without a token the farm page says the broker wants one', said.includes('token'), said);
  await page.goto(url + '?token=' + encodeURIComponent(tok));
  await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the farm page loads with the token');
  pass('with ?token= it loads the farm');
  const loc = await page.eval('location.href');
  check('  ... and takes the token out of the address bar', !loc.includes(tok) && !loc.includes('token='), loc);
  await page.goto(new URL('cache.html', url).href);
  await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the cache page loads with the kept token');
  pass('  ... and the next page of the tab has it too (sessionStorage)');
  if (job) {
    // the log stream sends it too (an EventSource could not)
    await page.goto(new URL('job.html?id=' + encodeURIComponent(job), url).href);
    await page.waitFor('document.body.dataset.loaded === "1"', 15000, 'the job page loads with the kept token');
    await new Promise((r) => setTimeout(r, 1500));
    const st = await page.eval('[document.body.dataset.state, document.getElementById("log-state").textContent]');
    check('  ... and the job page\'s live log stream', same(st, ['queued', 'live']), JSON.stringify(st));
  }
}

const chromium = process.env.CHROMIUM || 'chromium';
const browser = await Browser.launch(chromium);
try {
  const page = await browser.newPage();
  await page.viewport(...DESKTOP);
  if (mode === 'farm') await farmPage(page);
  else if (mode === 'job') await jobPage(page, arg, arg2 || 'succeeded');
  else if (mode === 'cache') await cachePage(page);
  else if (mode === 'token') await tokenPages(page, arg, arg2);
  else throw new Error('usage: drive.mjs farm|job|cache|token URL [ID [STATE] | TOKEN [ID]]');
  check(`no script error on the ${mode} page`, page.errors.length === 0, page.errors.join(' | '));
} catch (e) {
  fail(`the ${mode} page`, e.stack || e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
