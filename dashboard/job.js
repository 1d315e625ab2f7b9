// One job (job.html?id=ID): GET /api/v1/jobs/ID every 2 s (the job with
// its events and report summary), its log live from
// /api/v1/jobs/ID/log as server-sent events, the bitstream and report
// downloads.
import {
  api, apiText, sse, authHeaders, token, h, fill, setText, poll, table, row, jobLink, stateBadge,
  stageProgress, when, duration, ms, bar,
} from './app.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const id = new URLSearchParams(window.location.search).get('id') || '';
const base = 'api/v1/jobs/' + encodeURIComponent(id);
let job = null;

setText('job-id', id.slice(0, 12) || '(no id)');
document.title = 'job ' + id.slice(0, 12) + ' · bitfarm';

// --- details ----------------------------------------------------------------

function dl(pairs) {
  return pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

function mono(s) { return s ? h('span', { class: 'mono wrap' }, s) : null; }

function provenance(p) {
  if (!p) return null;
  const refs = [...(p.branches || []), ...(p.tags || [])].join(', ');
  return h('span', {}, 'commit ', mono(String(p.commit || '').slice(0, 12)),
    refs ? ' (' + refs + ')' : '',
    p.dirty ? ` dirty: ${p.dirty_count} file${p.dirty_count === 1 ? '' : 's'}` : '',
    p.remote ? h('div', { class: 'mono wrap' }, p.remote) : null);
}

function renderDetails(j) {
  const start = ms(j.started_at), end = ms(j.finished_at);
  fill('job-details', dl([
    ['id', mono(j.id)],
    ['kind', j.kind],
    ['target', j.target],
    ['board', j.board],
    ['after', j.after ? jobLink(j.after) : null],
    ['worker', j.worker || '—'],
    ['attempt', `${j.attempt} of ${j.max_attempts}`],
    ['priority', String(j.priority ?? 0)],
    ['tags', (j.tags || []).length ? j.tags.join(', ') : null],
    ['toolchain', mono(j.toolchain)],
    ['owner', j.owner_name || null],
    ['source', provenance(j.provenance)],
    ['cache hit', j.cache_hit ? 'yes' : 'no'],
    ['follows', j.follows ? jobLink(j.follows) : null],
    ['cache key', mono(j.cache_key)],
    ['bitstream', mono(j.bitstream_sha256)],
    ['submitted', when(j.submitted_at)],
    ['started', j.started_at ? when(j.started_at) : null],
    ['finished', j.finished_at ? when(j.finished_at) : null],
    ['took', start !== null && end !== null ? duration(end - start) : null],
    ['time limit', j.timeout_ms ? duration(j.timeout_ms) : null],
    ['failure', j.failure_class],
  ]));
}

function renderHead(j) {
  fill('job-state', stateBadge(j.state));
  document.body.dataset.state = j.state;
  fill('job-progress', stageProgress(j));
  const err = document.getElementById('job-error');
  err.hidden = !j.error;
  err.textContent = j.error || '';
  const wait = document.getElementById('job-waiting');
  wait.hidden = !(j.state === 'queued' && j.waiting_for);
  wait.textContent = j.waiting_for ? 'waiting for ' + j.waiting_for : '';
  const actions = [];
  if (j.bitstream_sha256 && j.kind !== 'program' && j.state === 'succeeded') {
    actions.push(download(base + '/bitstream', j.id + '.bin', 'download bitstream', 'download-bitstream'));
  }
  if (j.report_sha256) actions.push(download(base + '/report', j.id + '.report.json', 'report (JSON)', 'download-report'));
  actions.push(download(base + '/log', j.id + '.log', 'log (text)', 'download-log'));
  fill('job-actions', actions);
}

// A download link.  With a token the file is fetched with Authorization
// and handed over as a blob (a plain link cannot send the header).
function download(path, name, label, cls) {
  const a = h('a', { href: path, download: name, class: 'button ' + cls }, label);
  a.addEventListener('click', async (ev) => {
    if (!token()) return;
    ev.preventDefault();
    const res = await fetch(path, { headers: authHeaders() });
    if (!res.ok) { setText('status', `download failed: ${res.status} ${res.statusText}`); return; }
    const url = URL.createObjectURL(await res.blob());
    const tmp = h('a', { href: url, download: name });
    document.body.appendChild(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  return a;
}

// --- report -------------------------------------------------------------------

const RESOURCES = [
  ['logic_cells', 'logic cells'], ['ram', 'block RAM'], ['spram', 'SPRAM'], ['dsp', 'DSP'],
  ['io', 'IO'], ['pll', 'PLL'], ['global_buffers', 'global buffers'],
];

let reportShown = false;
function renderReport(j) {
  if (reportShown) return;
  const s = j.report && j.report.utilization ? j.report : null;   // STATUS's summary (bf_report.h)
  if (!s) {
    if (FINAL.has(j.state)) fill('job-report', h('p', { class: 'empty' }, j.kind === 'program' ? 'a program job has no report' : 'no report'));
    return;
  }
  reportShown = true;
  const UH = ['resource', 'used', 'of'];
  const util = s.utilization || {};
  const urows = RESOURCES.filter(([k]) => util[k]).map(([k, label]) => {
    const u = util[k];
    const frac = u.available > 0 ? u.used / u.available : 0;
    return row(UH, [
      label,
      bar(u.used, u.available, `${u.used} (${(frac * 100).toFixed(frac < 0.1 && frac > 0 ? 1 : 0)} %)`, frac > 0.9 ? 'hot' : ''),
      String(u.available),
    ], { dataset: { resource: k } });
  });
  const CH = ['clock', 'achieved', 'target', ''];
  const crows = (s.clocks || []).map((c) => {
    const meets = typeof c.target_mhz !== 'number' || c.achieved_mhz >= c.target_mhz;
    return row(CH, [
      h('span', { class: 'mono wrap' }, c.net),
      fmtMhz(c.achieved_mhz),
      fmtMhz(c.target_mhz),
      h('span', { class: 'badge ' + (meets ? 'good' : 'bad') }, meets ? 'meets target' : 'fails target'),
    ], { dataset: { clock: c.net } });
  });
  fill('job-report',
    h('h3', {}, 'Utilisation'), table(UH, urows, 'none reported'),
    h('h3', {}, 'Fmax'), table(CH, crows, 'no clock'));
}

function fmtMhz(v) { return typeof v === 'number' ? v.toFixed(2) + ' MHz' : '—'; }

// --- events ---------------------------------------------------------------------

const EH = ['at', 'event', 'try', 'worker', 'reason'];
function renderEvents(j) {
  const evs = j.events || [];
  fill('job-events', table(EH, evs.map((e) => row(EH, [
    h('time', { datetime: e.at, title: e.at }, e.at ? new Date(e.at).toLocaleTimeString() : '—'),
    h('span', { class: 'event event-' + String(e.event).replace(/[^a-z_]/g, '') }, e.event),
    String(e.attempt ?? ''),
    e.worker || '—',
    e.reason ? h('span', { class: 'reason' }, e.reason) : '',
  ])), 'no events', 'compact'));
}

// --- the live log -------------------------------------------------------------------

const logEl = document.getElementById('job-log');
let shown = 0;          // characters of the log on the page
let logDone = false;

// The log follows its end unless the reader scrolled up (and again once
// they scroll back down), also when the page's width changes.
let stuck = true;
logEl.addEventListener('scroll', () => {
  stuck = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 8;
});
new ResizeObserver(() => { if (stuck) logEl.scrollTop = logEl.scrollHeight; }).observe(logEl);

function appendLog(text) {
  logEl.appendChild(document.createTextNode(text));
  shown += text.length;
  if (stuck) logEl.scrollTop = logEl.scrollHeight;
}

function logState(text) { setText('log-state', text); }

async function followLog() {
  for (let tries = 0; !logDone && tries < 100; tries++) {
    let seen = 0;   // characters of this stream (which replays the log from its start)
    try {
      logState('live');
      await sse(base + '/log', (name, data) => {
        if (name === 'log') {
          // whole lines, one "data:" line each (docs/http.md): the event's
          // text is the lines without their last newline
          data += '\n';
          const skip = Math.max(0, Math.min(data.length, shown - seen));
          seen += data.length;
          if (skip < data.length) appendLog(data.slice(skip));
        } else if (name === 'error') {
          let why = data;
          try { why = JSON.parse(data).error || data; } catch (e) { /* not JSON */ }
          throw new Error(why);
        } else if (name === 'end') {
          let st = '';
          try { st = JSON.parse(data).state || ''; } catch (e) { /* not JSON */ }
          logDone = true;
          logState(st ? 'ended: ' + st : 'ended');
          document.body.dataset.logEnded = st || '1';
        }
      });
    } catch (e) {
      // no event stream here: read the whole text instead, every 2 s
      logState('polled (' + e.message + ')');
      await pollLog();
      return;
    }
    if (!logDone) await new Promise((r) => setTimeout(r, 1000));
  }
}

async function pollLog() {
  while (!logDone) {
    try {
      const text = await apiText(base + '/log');
      if (text.length > shown) appendLog(text.slice(shown));
      if (job && FINAL.has(job.state)) {
        logDone = true;
        logState('ended: ' + job.state);
        document.body.dataset.logEnded = job.state;
      }
    } catch (e) { /* the status line shows the API's state */ }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// --- polling --------------------------------------------------------------------------

async function refresh() {
  job = await api(base);
  renderHead(job);
  renderDetails(job);
  renderEvents(job);
  renderReport(job);
  const v = document.getElementById('version');
  if (v && !v.textContent) {
    try { const farm = await api('api/v1/farm'); if (farm.version) v.textContent = farm.version; } catch (e) { /* shown */ }
  }
}

if (id) {
  poll(refresh);
  followLog();
} else {
  setText('status', 'no job id: open job.html?id=JOB');
}
