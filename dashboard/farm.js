// The farm at a glance (index.html): GET /api/v1/farm, /jobs, /workers
// and /boards, every 2 s.
import {
  api, ApiError, hitsMisses, h, fill, setText, poll, table, row, jobLink, stateBadge, stageProgress,
  when, duration, ms, pct, minutes, bar, shortId,
} from './app.js';

const filterForm = document.getElementById('filters');

// The filters live in the page's address (?state=failed&tag=ci), so a
// filtered view can be bookmarked and survives a reload.
function readFilters() {
  const q = new URLSearchParams(window.location.search);
  for (const el of filterForm.elements) {
    if (el.name && q.has(el.name)) el.value = q.get(el.name);
  }
}

function filterQuery() {
  const q = new URLSearchParams();
  for (const el of filterForm.elements) {
    if (el.name && el.value.trim() !== '') q.set(el.name, el.value.trim());
  }
  return q;
}

filterForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = filterQuery();
  history.replaceState(null, '', window.location.pathname + (q.toString() ? '?' + q : ''));
  refresh().catch(() => {});
});
readFilters();

function card(label, value, sub, id) {
  return h('div', { class: 'card', id },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    sub ? h('div', { class: 'card-sub' }, sub) : null);
}

function renderSummary(farm) {
  const boards = farm.boards || {};
  const boardTotal = Object.values(boards).reduce((a, b) => a + (Number(b) || 0), 0);
  const boardSub = Object.entries(boards).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
  const cache = farm.cache || {};
  fill('summary',
    card('queued', String(farm.queued ?? '—'), null, 'card-queued'),
    card('running', String(farm.running ?? '—'), null, 'card-running'),
    card('workers', String(farm.workers ?? '—'),
      h('span', {}, `${farm.slots_busy ?? '—'} of ${farm.slots ?? '—'} slots busy`), 'card-workers'),
    card('boards', String(boardTotal), boardSub || null, 'card-boards'),
    card('cache hit rate', pct(cache.hit_rate), hitsMisses(cache), 'card-hitrate'),
    card('time saved', minutes(typeof cache.minutes_saved === 'number' ? cache.minutes_saved * 60000 : NaN),
      h('a', { href: 'cache.html' }, 'cache details'), 'card-saved'));
}

// What a job is, in a few words: program BOARD, or build (a project
// target, the git source, the tags it asks for).
function what(job) {
  if (job.kind === 'program') return 'program ' + (job.board || '');
  const parts = ['build'];
  if (job.target) parts.push(job.target);
  const p = job.provenance;
  if (p && p.commit) {
    const ref = (p.branches && p.branches[0]) || (p.tags && p.tags[0]) || '';
    parts.push((ref ? ref + ' @ ' : '') + String(p.commit).slice(0, 8) + (p.dirty ? ' (dirty)' : ''));
  }
  if (job.tags && job.tags.length) parts.push('[' + job.tags.join(', ') + ']');
  return parts.join(' ');
}

const RUN_H = ['job', 'what', 'stage', 'worker', 'attempt', 'running for'];
function renderRunning(jobs) {
  setText('running-count', String(jobs.length));
  fill('running', table(RUN_H, jobs.map((j) => row(RUN_H, [
    jobLink(j.id),
    what(j),
    stageProgress(j),
    j.worker || '—',
    `${j.attempt} of ${j.max_attempts}`,
    duration(Date.now() - (ms(j.started_at) ?? Date.now())),
  ], { dataset: { jobId: j.id, state: j.state } })), 'no job is running'));
}

const QUEUE_H = ['job', 'what', 'priority', 'waiting', 'waiting for'];
function renderQueue(jobs) {
  setText('queue-count', String(jobs.length));
  // The queue in dispatch order: priority, then oldest first.
  jobs = jobs.slice().sort((a, b) => (b.priority - a.priority) || ((ms(a.submitted_at) ?? 0) - (ms(b.submitted_at) ?? 0)));
  fill('queue', table(QUEUE_H, jobs.map((j) => row(QUEUE_H, [
    jobLink(j.id),
    what(j),
    String(j.priority ?? 0),
    duration(Date.now() - (ms(j.submitted_at) ?? Date.now())),
    h('span', { class: 'reason' }, j.waiting_for || '—'),
  ], { dataset: { jobId: j.id, state: j.state } })), 'the queue is empty'));
}

const WORKER_H = ['worker', 'slots', 'toolchain', 'tools', 'tags', 'boards', 'connected'];
function renderWorkers(workers) {
  setText('workers-count', String(workers.length));
  fill('workers', table(WORKER_H, workers.map((w) => {
    const versions = Object.entries(w.versions || {}).map(([tool, v]) =>
      h('li', {}, h('b', {}, tool), ' ', String(v)));
    const flags = [];
    if (w.draining) flags.push(h('span', { class: 'badge warn' }, 'draining'));
    if (w.sandbox === false) flags.push(h('span', { class: 'badge bad' }, 'UNSANDBOXED'));
    return row(WORKER_H, [
      h('span', { class: 'worker-name' }, w.name, ...flags.map((f) => [' ', f])),
      bar(w.busy || 0, w.slots || 0, `${w.busy ?? 0} / ${w.slots ?? 0} busy`, 'slots'),
      h('span', { class: 'mono', title: w.toolchain || '' }, shortId(w.toolchain)),
      versions.length ? h('ul', { class: 'versions' }, versions) : '—',
      (w.tags || []).length ? w.tags.join(', ') : '—',
      (w.boards || []).length ? w.boards.join(', ') : '—',
      when(w.connected_at),
    ], { dataset: { worker: w.name } });
  }), 'no worker is connected'));
}

const BOARD_H = ['board', 'state', 'device', 'worker', 'reservation', 'job', 'last job'];
function renderBoards(boards) {
  setText('boards-count', String(boards.length));
  fill('boards', table(BOARD_H, boards.map((b) => {
    let res = '—';
    if (b.reserved_until) {
      res = h('span', {}, 'by ', b.reserved_by || b.holder || '?', ' until ', when(b.reserved_until));
    }
    const st = h('span', {}, stateBadge(b.state),
      b.health_reason ? h('span', { class: 'reason' }, ' ', b.health_reason) : null);
    return row(BOARD_H, [
      h('span', { class: 'board-name' }, b.name, b.virtual ? h('span', { class: 'badge' }, 'virtual') : null),
      st,
      `${b.device || '?'}${b.package ? '-' + b.package : ''}`,
      b.worker || '—',
      res,
      b.job ? jobLink(b.job) : '—',
      b.last_job ? jobLink(b.last_job) : '—',
    ], { dataset: { board: b.name, state: b.state } });
  }), 'no board is known'));
}

const JOB_H = ['job', 'state', 'what', 'worker', 'submitted', 'took', 'cache', 'error'];
function renderJobs(jobs) {
  fill('jobs', table(JOB_H, jobs.map((j) => {
    const start = ms(j.started_at), end = ms(j.finished_at);
    return row(JOB_H, [
      jobLink(j.id),
      stateBadge(j.state),
      what(j),
      j.worker || '—',
      when(j.submitted_at),
      start !== null && end !== null ? duration(end - start) : '—',
      j.cache_hit ? h('span', { class: 'badge good' }, 'hit') : (j.follows ? 'follows ' + shortId(j.follows) : ''),
      j.error ? h('span', { class: 'error-text', title: j.error }, j.error) : '',
    ], { dataset: { jobId: j.id, state: j.state } });
  }), 'no job matches'));
}

async function refresh() {
  const q = filterQuery();
  q.set('limit', '50');
  const [farm, running, queued, recent, workers, boards] = await Promise.all([
    api('api/v1/farm'),
    api('api/v1/jobs?state=running&limit=200'),
    api('api/v1/jobs?state=queued&limit=200'),
    // a filter the API refuses (a bad commit id) is said beside the list
    api('api/v1/jobs?' + q).catch((e) => {
      if (e instanceof ApiError && e.status === 400) return { refused: e.message };
      throw e;
    }),
    api('api/v1/workers'),
    api('api/v1/boards'),
  ]);
  renderSummary(farm);
  renderRunning(running.jobs || []);
  renderQueue(queued.jobs || []);
  renderWorkers(workers.workers || []);
  renderBoards(boards.boards || []);
  if (recent.refused) fill('jobs', h('p', { class: 'error-box', id: 'filter-error' }, recent.refused));
  else renderJobs(recent.jobs || []);
  const v = document.getElementById('version');
  if (v && farm.version) v.textContent = farm.version;
}

poll(refresh);
