// The recordings view: search, filters, sorting and pages over GET /v1/browse/recordings.
import { $, api, esc, route, fmtBytes, fmtNum, isoOfNs, num, recordingLink, stateCell, table, td } from './common.js';

// ---- recordings -----------------------------------------------------------------------------
export const BROWSE_COLUMNS = [
  ['recording', null],
  ['state', null],
  ['source', 'source'],
  ['recorded', 'start_time'],
  ['duration', 'duration'],
  ['size', 'size'],
  ['messages', 'messages'],
  ['topics', null],
  ['updated', 'updated'],
];
export async function renderRecordings(params) {
  const form = $('browse-form');
  for (const name of ['q', 'topic', 'schema', 'status', 'from', 'to']) form.elements[name].value = params.get(name) ?? '';
  const sort = params.get('sort') ?? 'updated';
  const order = params.get('order') ?? 'desc';
  const page = await api('v1/browse/recordings?' + params.toString());
  const headers = BROWSE_COLUMNS.map(([label, key]) =>
    key ? { html: '<th data-sort="' + key + '">' + esc(label) + (key === sort ? (order === 'desc' ? ' ▾' : ' ▴') : '') + '</th>' } : label,
  );
  table(
    $('browse-table'),
    headers,
    page.items.map(
      (r) =>
        `<tr data-browse-recording="${esc(r.recording_id)}">${td(recordingLink(r.recording_id, r.state))}${stateCell(r.state)}${td(esc(r.source))}` +
        `${td(esc(isoOfNs(r.start_time)))}${num(r.duration_s === null ? '' : fmtNum(r.duration_s, 1) + ' s')}${num(fmtBytes(r.size))}` +
        `${num(fmtNum(r.message_count))}${num(fmtNum(r.topics))}${td(esc(r.updated_at), 'muted')}</tr>`,
    ),
  );
  const pager = $('browse-pager');
  const link = (p, label) => {
    const next = new URLSearchParams(params);
    next.set('page', String(p));
    return '<a class="button" href="#/recordings?' + esc(next.toString()) + '">' + label + '</a>';
  };
  pager.innerHTML =
    (page.page > 1 ? link(page.page - 1, '‹ previous') : '') +
    '<span class="muted">page ' +
    page.page +
    ' of ' +
    page.pages +
    ' · ' +
    page.total +
    ' recordings</span>' +
    (page.page < page.pages ? link(page.page + 1, 'next ›') : '');
}
$('browse-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(event.target)) if (v) params.set(k, String(v));
  location.hash = '#/recordings?' + params.toString();
});
$('browse-table').addEventListener('click', (event) => {
  const key = event.target.closest('th[data-sort]')?.dataset.sort;
  if (!key) return;
  const params = route().params;
  const same = (params.get('sort') ?? 'updated') === key;
  params.set('order', same && (params.get('order') ?? 'desc') === 'desc' ? 'asc' : 'desc');
  params.set('sort', key);
  params.delete('page');
  location.hash = '#/recordings?' + params.toString();
});
