// bitfarm dashboard: what every page shares.  Plain ES module, no
// framework, no build step; the broker serves this directory at /.
//
// Everything that comes from the API is put into the page with
// textContent or setAttribute, never innerHTML: a job's error and its log
// are tool output, which a design controls ($display).

const TOKEN_KEY = 'bitfarm.token';
export const POLL_MS = 2000;

// A token given once as ?token= is kept for this tab (sessionStorage) and
// taken out of the address bar, so it is not in the history or a referrer.
function initToken() {
  const url = new URL(window.location.href);
  const t = url.searchParams.get('token');
  if (t !== null) {
    if (t === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
}
initToken();

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

export function authHeaders(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// GET an API path; resolves to the parsed JSON body.  A non-2xx answer is
// an ApiError with the body's "error" when it has one.
export async function api(path, opts = {}) {
  const res = await fetch(path, { headers: authHeaders({ Accept: 'application/json' }), cache: 'no-store', ...opts });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!res.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg);
  }
  if (body === null) throw new ApiError(res.status, `${path}: not JSON`);
  return body;
}

export async function apiText(path) {
  const res = await fetch(path, { headers: authHeaders({ Accept: 'text/plain' }), cache: 'no-store' });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  return text;
}

// Server-sent events over fetch (EventSource cannot send Authorization).
// onEvent(name, data) for each event; resolves when the stream ends.
export async function sse(path, onEvent, signal) {
  const res = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  const ctype = res.headers.get('Content-Type') || '';
  if (!ctype.startsWith('text/event-stream')) throw new ApiError(res.status, `not an event stream: ${ctype}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let name = 'message', data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onEvent(name, data.join('\n'));
        name = 'message'; data = [];
      } else if (line.startsWith(':')) {
        // a comment (keep-alive)
      } else {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? '' : line.slice(c + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') name = v;
        else if (field === 'data') data.push(v);
      }
    }
  }
}

// h('td', {class: 'x', title: t}, child, ...): an element.  Strings become
// text nodes; null and false children are skipped; arrays are flattened.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Replaces the children of the element with the given id.
export function fill(id, ...children) {
  const el = typeof id === 'string' ? document.getElementById(id) : id;
  el.replaceChildren();
  append(el, children);
  return el;
}

export function setText(id, text) {
  document.getElementById(id).textContent = text;
}

// --- formatting -----------------------------------------------------------

export function shortId(id) { return typeof id === 'string' ? id.slice(0, 12) : '—'; }

export function jobLink(id, text) {
  return h('a', { href: 'job.html?id=' + encodeURIComponent(id), class: 'mono' }, text || shortId(id));
}

export function stateBadge(state) {
  return h('span', { class: 'badge state state-' + String(state).replace(/[^a-z_]/g, '') }, String(state));
}

export function ms(t) {
  if (!t) return null;
  const v = Date.parse(t);
  return Number.isNaN(v) ? null : v;
}

export function duration(msecs) {
  if (msecs === null || msecs === undefined || !Number.isFinite(msecs)) return '—';
  const s = Math.max(0, Math.round(msecs / 1000));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + (s % 60) + ' s';
  const hh = Math.floor(m / 60);
  if (hh < 48) return hh + ' h ' + (m % 60) + ' min';
  return Math.floor(hh / 24) + ' d';
}

export function ago(t) {
  const v = ms(t);
  if (v === null) return '—';
  const d = Date.now() - v;
  return d >= 0 ? duration(d) + ' ago' : 'in ' + duration(-d);
}

export function when(t) {
  const v = ms(t);
  if (v === null) return h('span', {}, '—');
  return h('time', { datetime: t, title: new Date(v).toISOString() }, ago(t));
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i];
}

export function pct(r) {
  return typeof r === 'number' && Number.isFinite(r) ? (r * 100).toFixed(r < 0.1 && r > 0 ? 1 : 0) + ' %' : '—';
}

export function minutes(msecs) {
  if (typeof msecs !== 'number' || !Number.isFinite(msecs)) return '—';
  if (msecs < 60000) return (msecs < 10000 ? (msecs / 1000).toFixed(1) : Math.round(msecs / 1000)) + ' s';
  const m = msecs / 60000;
  return (m < 10 ? m.toFixed(1) : Math.round(m)) + ' min';
}

export function plural(n, one, many) { return `${n ?? 0} ${n === 1 ? one : many}`; }
export function hitsMisses(s) { return `${plural(s.hits, 'hit', 'hits')}, ${plural(s.misses, 'miss', 'misses')}`; }

// A bar: value of max, with a label.
export function bar(value, max, label, cls) {
  const frac = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return h('div', { class: 'bar ' + (cls || ''), role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': value },
    h('div', { class: 'bar-fill', style: `width: ${(frac * 100).toFixed(1)}%` }),
    h('span', { class: 'bar-label' }, label));
}

// The stages of a build, in order (docs/protocol.md); a program job's one stage.
const BUILD_STAGES = ['dispatched', 'synth', 'pnr', 'pack', 'done'];

// A running job's stage as a progress bar: how many stages of its flow
// are behind it.
export function stageProgress(job) {
  const stage = job.stage || (job.state === 'queued' ? 'queued' : '—');
  if (job.kind === 'program') {
    const done = job.state !== 'queued' && job.state !== 'running';
    return bar(done ? 1 : job.state === 'running' ? 0.5 : 0, 1, stage, 'stage');
  }
  let i = BUILD_STAGES.indexOf(stage);
  if (job.state === 'succeeded') i = BUILD_STAGES.length - 1;
  let frac = i < 0 ? 0 : (i + (job.state === 'running' ? 0.5 : 0)) / (BUILD_STAGES.length - 1);
  if (i < 0 && job.state === 'running') frac = 0.5;   // another flow's stage (noop)
  const ended = job.state === 'failed' || job.state === 'timed_out' || job.state === 'cancelled';
  return bar(Math.min(1, frac), 1, ended ? `${stage} (${job.state})` : stage, ended ? 'stage hot' : 'stage');
}

// --- live updates -----------------------------------------------------------

// Calls fn now and every POLL_MS while the page is visible; errors are
// shown in the page's #status line and retried.
export function poll(fn, every = POLL_MS) {
  let timer = null, running = false;
  const tick = async () => {
    timer = null;
    if (running) return;
    running = true;
    try {
      await fn();
      online();
    } catch (e) {
      offline(e);
    } finally {
      running = false;
      if (!document.hidden) timer = setTimeout(tick, every);
    }
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === null && !running) tick();
  });
  tick();
}

let lastOk = null;
function online() {
  lastOk = Date.now();
  const el = document.getElementById('status');
  if (!el) return;
  el.className = 'status ok';
  el.textContent = 'live · updated ' + new Date(lastOk).toLocaleTimeString();
  document.body.dataset.loaded = '1';
}

function offline(e) {
  const el = document.getElementById('status');
  if (!el) return;
  el.className = 'status err';
  const why = e instanceof ApiError && e.status === 401 ? 'the broker wants a token: open this page with ?token=…' : e.message;
  el.textContent = 'cannot reach the broker: ' + why + (lastOk ? ' (last update ' + new Date(lastOk).toLocaleTimeString() + ')' : '');
}

// A table; cls 'compact' keeps it a table on a phone (short columns).
export function table(headers, rows, empty, cls) {
  if (!rows.length) return h('p', { class: 'empty' }, empty || 'none');
  return h('div', { class: 'table-wrap' + (cls ? ' ' + cls : '') },
    h('table', {},
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
}

// A row whose cells carry their column's name, for the phone layout
// (style.css shows td[data-label] as "label: value" blocks).
export function row(headers, cells, attrs) {
  return h('tr', attrs || {}, cells.map((c, i) =>
    h('td', { 'data-label': headers[i], class: c === '' || c === null || c === undefined ? 'blank' : null }, c)));
}
