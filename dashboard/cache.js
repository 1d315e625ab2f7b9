// The bitstream cache (cache.html): GET /api/v1/cache/stats every 2 s
// (the CACHESTATS body, docs/protocol.md 5.2).
import { api, hitsMisses, h, fill, setText, poll, table, row, bytes, pct, minutes, bar, shortId, duration } from './app.js';

function card(label, value, sub, id) {
  return h('div', { class: 'card', id },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    sub ? h('div', { class: 'card-sub' }, sub) : null);
}

function num(v) { return typeof v === 'number' ? String(v) : '—'; }

const SUM_H = ['', 'builds', 'hits', 'hit rate', 'build time', 'saved'];
function windowRow(label, w, attrs) {
  return row(SUM_H, [label, num(w.builds), num(w.hits), pct(w.hit_rate), minutes(w.build_ms), minutes(w.saved_ms)], attrs);
}

function render(s) {
  fill('cache-summary',
    card('hit rate', pct(s.hit_rate), hitsMisses(s), 'card-hitrate'),
    card('build time saved', minutes(s.saved_ms), 'by hits, since the cache was made', 'card-saved'),
    card('entries', num(s.entries), `${num(s.objects)} objects`, 'card-entries'),
    card('size', bytes(s.bytes), s.max_size ? 'cap ' + bytes(s.max_size) : 'no cap', 'card-bytes'),
    card('evictions', num(s.evictions), null, 'card-evictions'),
    card('corruptions', num(s.corruptions), `${num(s.quarantined)} quarantined`, 'card-corruptions'));

  fill('cache-size', s.max_size
    ? bar(s.bytes, s.max_size, `${bytes(s.bytes)} of ${bytes(s.max_size)} (eviction from 90 %, down to 80 %)`, s.bytes > 0.9 * s.max_size ? 'hot' : '')
    : h('p', {}, `${bytes(s.bytes)} in ${num(s.objects)} objects; the cache has no size cap (`,
      h('code', {}, '--cache-max-size'), ')'));

  const w = s.window || {};
  setText('window-label', w.window_ms ? 'the last ' + duration(w.window_ms) : 'the whole job history');
  fill('cache-window', table(SUM_H, [windowRow('all build jobs', w, { id: 'window-total' })]));
  fill('cache-tags', table(SUM_H, (w.tags || []).map((t) => windowRow(t.tag, t, { dataset: { tag: t.tag } })), 'no tagged jobs'));
  setText('repos-of', w.repositories_of ? '(' + w.repositories_of + ')' : '');
  fill('cache-repos', table(SUM_H, (w.repositories || []).map((r) =>
    windowRow(r.repository === '' ? '(not built from git)' : r.repository, r)), 'no jobs'));

  const TH = ['toolchain', 'entries', 'size', 'hits', 'misses', 'evictions', 'corruptions', 'saved'];
  fill('cache-toolchains', table(TH, (s.toolchains || []).map((t) => row(TH, [
    h('span', { class: 'mono', title: t.toolchain }, shortId(t.toolchain), t.disowned ? h('span', { class: 'badge bad' }, 'disowned') : null),
    num(t.entries), bytes(t.bytes), num(t.hits), num(t.misses), num(t.evictions), num(t.corruptions), minutes(t.saved_ms),
  ], { dataset: { toolchain: t.toolchain } })), 'no toolchain yet'));
}

let versionShown = false;
poll(async () => {
  render(await api('api/v1/cache/stats'));
  if (!versionShown) {
    versionShown = true;
    try { const f = await api('api/v1/farm'); if (f.version) setText('version', f.version); } catch (e) { /* shown */ }
  }
});
