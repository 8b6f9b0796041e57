// The admin role's web UI: status, the data browser (recordings, a recording's page with its
// coverage timeline and plots) and a SQL console. Plain browser JavaScript over the admin API;
// the session cookie set at sign-in authenticates every request. Plots are uPlot's.
'use strict';

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// Views are laid out before they are shown, so a hidden element's width is the page's.
const widthOf = (el) => el.clientWidth || document.body.clientWidth - 20;
const COLORS = ['#3b6fd8', '#d7263d', '#16794a', '#f08c00', '#7b2cbf', '#00838f', '#8d6e63', '#c2185b'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, options = {}) {
  let res;
  // The admin runs a few statements at once (MCAPFLOW_QUERY_CONCURRENCY) and answers 429 past that: wait and retry.
  for (let attempt = 0; ; attempt++) {
    res = await fetch(path, { credentials: 'same-origin', headers: options.body ? { 'content-type': 'application/json' } : {}, ...options });
    if (res.status !== 429 || attempt >= 30) break;
    await sleep(100 + 100 * Math.min(attempt, 10) * Math.random());
  }
  if (res.status === 401 || res.status === 403) {
    showSignin();
    throw new Error('signed out');
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : res.statusText);
  return body;
}
const query = (sql) => api('v1/query', { method: 'POST', body: JSON.stringify({ sql }) });

// ---- formatting ----------------------------------------------------------------------------
const nsToDate = (ns) => new Date(Number(BigInt(ns) / 1000000n));
const isoOfNs = (ns) => (ns === null || ns === undefined ? '' : nsToDate(ns).toISOString());
const secondsToNs = (s) => BigInt(Math.round(s * 1e6)) * 1000n;
function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}
const fmtNum = (n, digits = 0) => (n === null || n === undefined ? '' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits }));
function table(el, headers, rows) {
  el.innerHTML =
    '<tr>' +
    headers.map((h) => (typeof h === 'string' ? '<th>' + esc(h) + '</th>' : h.html)).join('') +
    '</tr>' +
    (rows.length ? rows.join('') : '<tr><td colspan="' + headers.length + '" class="muted">none</td></tr>');
}
const td = (html, cls) => (cls ? `<td class="${cls}">${html}</td>` : `<td>${html}</td>`);
const num = (html) => td(html, 'num');
const stateCell = (state) => td(esc(state), 'state-' + esc(state));
/** A recording's id, a link to its page once it is committed. */
const recordingLink = (id, state) => (state === 'committed' ? `<a href="#/recording/${esc(id)}"><code>${esc(id)}</code></a>` : `<code>${esc(id)}</code>`);
function showError(el, error) {
  el.innerHTML = '<p class="bad">' + esc(error.message) + '</p>';
}

// ---- sign-in and routing ---------------------------------------------------------------------
function showSignin() {
  $('signin').style.display = 'block';
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('nav').hidden = true;
  $('signout').hidden = true;
}
function signedIn() {
  $('signin').style.display = 'none';
  $('nav').hidden = false;
  $('signout').hidden = false;
}
function route() {
  const [path, search] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(search ?? '');
  const parts = (path || '/').split('/').filter(Boolean);
  if (parts[0] === 'recordings') return { view: 'recordings', params };
  if (parts[0] === 'recording' && /^[0-9a-f]{32}$/.test(parts[1] ?? '')) return { view: 'recording', id: parts[1], params };
  if (parts[0] === 'sql') return { view: 'sql', params };
  return { view: 'status', params };
}
function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
  for (const a of document.querySelectorAll('nav a[data-nav]')) a.classList.toggle('active', a.dataset.nav === (view === 'recording' ? 'recordings' : view));
}
async function render() {
  const r = route();
  try {
    if (r.view === 'status') await refreshStatus();
    else if (r.view === 'recordings') await renderRecordings(r.params);
    else if (r.view === 'recording') await renderRecording(r.id, r.params);
    else renderSql(r.params);
    signedIn();
    show(r.view);
    $('error').hidden = true;
  } catch (error) {
    if (error.message === 'signed out') return;
    signedIn();
    show(r.view);
    $('error').textContent = error.message;
    $('error').hidden = false;
  }
}

// ---- status ---------------------------------------------------------------------------------
async function refreshStatus() {
  const [queues, dlq, backfills, recordings] = await Promise.all([api('v1/queues'), api('v1/dlq'), api('v1/backfills'), api('v1/recordings?limit=100')]);
  const states = ['waiting', 'active', 'delayed', 'waiting-children', 'completed', 'failed'];
  table(
    $('queues'),
    ['queue', ...states, 'paused'],
    queues.queues.map((q) => `<tr>${td(esc(q.name))}${states.map((s) => num(esc(q.counts[s] ?? 0))).join('')}${td(q.paused ? 'yes' : '')}</tr>`),
  );
  table(
    $('dlq'),
    ['entry', 'recording', 'attempts', 'last error', ''],
    dlq.items.map((l) => {
      const buttons = `<button data-retry="${esc(l.id)}">Retry</button> <button data-discard="${esc(l.id)}">Discard</button>`;
      return `<tr data-dlq="${esc(l.id)}">${td(`<code>${esc(l.id)}</code>`)}${td(`<code>${esc(l.recordingId)}</code>`)}${td(l.attempts.length)}${td(esc(l.failedReason))}${td(buttons)}</tr>`;
    }),
  );
  const counters = ['listed', 'enqueued', 'skipped', 'committed', 'quarantined', 'failed'];
  table(
    $('backfills'),
    ['id', 'state', 'source', ...counters],
    backfills.items.map(
      (b) =>
        `<tr>${td(`<code>${esc(b.id)}</code>`)}${td(esc(b.state))}${td(`s3://${esc(b.bucket)}/${esc(b.prefix)}`)}${counters.map((k) => num(esc(b[k]))).join('')}</tr>`,
    ),
  );
  table(
    $('recordings'),
    ['recording', 'state', 'source', 'progress', 'reason', 'updated'],
    recordings.items.map((r) => {
      const pct = r.jobsTotal ? Math.min(100, Math.round((100 * r.jobsDone) / r.jobsTotal)) : 0;
      const progress = `<span class="bar"><span style="width:${pct}%"></span></span> ${esc(r.jobsDone)}/${esc(r.jobsTotal)}`;
      return `<tr data-recording="${esc(r.recordingId)}">${td(recordingLink(r.recordingId, r.state))}${stateCell(r.state)}${td(esc(r.source))}${td(progress)}${td(esc(r.reason))}${td(esc(r.updatedAt), 'muted')}</tr>`;
    }),
  );
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}

// ---- recordings -----------------------------------------------------------------------------
const BROWSE_COLUMNS = [
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
async function renderRecordings(params) {
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

// ---- a recording ----------------------------------------------------------------------------
let current = null; // { id, detail, manifest, plots: { main, features } }

async function renderRecording(id, params) {
  const detail = await api('v1/recordings/' + encodeURIComponent(id));
  const m = detail.manifest;
  const previous = current;
  current = { id, detail, manifest: m, plots: {} };
  previous?.plots.main?.destroy();
  previous?.plots.features?.destroy();
  for (const el of ['similar', 'plot-info', 'features-info']) $(el).innerHTML = '';
  $('plot').removeAttribute('data-points');
  $('rec-title').innerHTML = 'Recording <code>' + esc(id) + '</code> <span class="state-' + esc(detail.status) + '">' + esc(detail.status) + '</span>';
  const facts = [
    ['source', detail.source],
    ['recorded', m ? isoOfNs(m.start_time) + ' → ' + isoOfNs(m.end_time) : ''],
    ['duration', m && m.start_time ? fmtNum(Number(BigInt(m.end_time) - BigInt(m.start_time)) / 1e9, 3) + ' s' : ''],
    ['size', m ? fmtBytes(m.source.size) : ''],
    ['messages', m ? fmtNum(m.message_count) : ''],
    ['profile', m ? m.profile + ' · ' + m.library : ''],
    ['planner', m ? m.planner + (m.recovered ? ' (recovered: ' + m.damage.join('; ') + ')' : '') : ''],
    ['reason', detail.reason],
  ];
  $('rec-facts').innerHTML = facts
    .filter(([, v]) => v)
    .map(([k, v]) => '<dt>' + esc(k) + '</dt><dd>' + esc(v) + '</dd>')
    .join('');
  if (!m) {
    for (const el of ['timeline', 'plot', 'features-plot', 'similar']) $(el).innerHTML = '';
    return;
  }
  renderTopics(m);
  renderTables(m);
  $('rec-manifest').textContent = JSON.stringify(m, null, 2);
  setupExtract(m);
  // One after another: each is a query, and the page should not take every sandbox at once.
  await renderTimeline(id).catch((e) => showError($('timeline'), e));
  await setupPlot(m, params).catch((e) => showError($('plot'), e));
  await setupFeatures(m).catch((e) => showError($('features-plot'), e));
  await renderAttachments(id, m).catch((e) => showError($('rec-attachments'), e));
}

function renderTopics(m) {
  table(
    $('rec-topics'),
    ['topic', 'schema', 'encoding', 'messages', 'rate', 'table', 'decode', 'gaps', 'out of order'],
    m.topics.map((t) => {
      const span = t.first_log_time && t.last_log_time ? Number(BigInt(t.last_log_time) - BigInt(t.first_log_time)) / 1e9 : 0;
      const rate = span > 0 ? fmtNum((t.messages - 1) / span, 1) + ' Hz' : '';
      const decode = t.status === 'ok' ? (t.decode_errors ? t.decode_errors + ' errors' : 'ok') : t.status + (t.reason ? ': ' + t.reason : '');
      const gaps = fmtNum(t.gaps) + (t.max_gap_ns && t.gaps ? ' (max ' + fmtNum(Number(t.max_gap_ns) / 1e6, 1) + ' ms)' : '');
      return (
        `<tr data-topic="${esc(t.topic)}">${td(esc(t.topic))}${td(esc(t.schema))}${td(esc(t.message_encoding))}${num(fmtNum(t.messages))}${num(rate)}` +
        `${td(esc(t.table))}${td(esc(decode), t.status === 'ok' && !t.decode_errors ? 'good' : 'bad')}${num(gaps)}${num(fmtNum(t.out_of_order))}</tr>`
      );
    }),
  );
}

function renderTables(m) {
  const rows = Object.entries(m.tables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => {
      const bytes = t.objects.reduce((n, o) => n + o.bytes, 0);
      const objects = t.objects.map((o) => `<code>${esc(o.uri)}</code>`).join('<br>');
      return `<tr data-table="${esc(name)}">${td(esc(name))}${td(esc(t.operator))}${num(fmtNum(t.rows))}${num(fmtBytes(bytes))}${td(objects)}</tr>`;
    });
  rows.unshift(`<tr>${td('(source)')}${td('')}${td('')}${num(fmtBytes(m.source.size))}${td(`<code>${esc(m.source.uri)}</code>`)}</tr>`);
  if (m.blobs.length) {
    const bytes = m.blobs.reduce((n, b) => n + b.bytes, 0);
    rows.push(`<tr>${td('(blobs)')}${td('')}${num(m.blobs.length)}${num(fmtBytes(bytes))}${td('content-addressed packs', 'muted')}</tr>`);
  }
  table($('rec-tables'), ['table', 'made by', 'rows', 'bytes', 'objects'], rows);
}

async function renderAttachments(id, m) {
  const quoted = "'" + id + "'";
  const attachments = m.tables.attachments
    ? (await query('SELECT name, media_type, log_time, create_time, size FROM attachments WHERE recording_id = ' + quoted + ' ORDER BY log_time LIMIT 1000'))
        .rows
    : [];
  table(
    $('rec-attachments'),
    ['name', 'media type', 'log time', 'created', 'size'],
    attachments.map(
      ([name, media, logTime, created, size]) =>
        `<tr>${td(esc(name))}${td(esc(media))}${td(esc(isoOfNs(logTime)))}${td(esc(isoOfNs(created)))}${num(fmtBytes(size))}</tr>`,
    ),
  );
  const metadata = m.tables.metadata
    ? (await query('SELECT name, metadata FROM metadata WHERE recording_id = ' + quoted + ' ORDER BY name LIMIT 1000')).rows
    : [];
  table(
    $('rec-metadata'),
    ['name', 'entries'],
    metadata.map(
      ([name, entries]) => `<tr>${td(esc(name))}${td((entries ?? []).map((e) => `<code>${esc(e.key)}</code> = ${esc(e.value)}`).join('<br>'))}</tr>`,
    ),
  );
}

// The coverage timeline: SVG, one row per topic; shade = messages per bucket relative to the topic's busiest.
async function renderTimeline(id) {
  const t = await api('v1/recordings/' + encodeURIComponent(id) + '/timeline?buckets=300');
  const el = $('timeline');
  const width = Math.max(600, widthOf(el));
  const label = 190;
  const rowH = 18;
  const plotW = width - label - 10;
  const cellW = plotW / t.buckets;
  const start = t.start_time === null ? 0n : BigInt(t.start_time);
  const span = t.start_time === null ? 1 : Number(BigInt(t.end_time) - start) || 1;
  const xOf = (ns) => label + (plotW * Number(BigInt(ns) - start)) / span;
  let svg = '';
  t.topics.forEach((topic, row) => {
    const y = 4 + row * rowH;
    const busiest = Math.max(1, ...topic.counts);
    let cells = '';
    topic.counts.forEach((n, i) => {
      if (n > 0)
        cells +=
          '<rect class="cov" x="' +
          (label + i * cellW).toFixed(2) +
          '" y="' +
          y +
          '" width="' +
          (cellW + 0.3).toFixed(2) +
          '" height="' +
          (rowH - 4) +
          '" fill="#3b6fd8" fill-opacity="' +
          (0.25 + (0.75 * n) / busiest).toFixed(2) +
          '"/>';
    });
    const gaps = topic.gaps.intervals
      .map(
        ([a, b]) =>
          '<rect class="gap" x="' +
          xOf(a).toFixed(2) +
          '" y="' +
          y +
          '" width="' +
          Math.max(1.5, xOf(b) - xOf(a)).toFixed(2) +
          '" height="' +
          (rowH - 4) +
          '" fill="#d7263d"><title>gap of ' +
          fmtNum(Number(BigInt(b) - BigInt(a)) / 1e6, 1) +
          ' ms at ' +
          isoOfNs(a) +
          '</title></rect>',
      )
      .join('');
    const ooo = topic.out_of_order.buckets
      .map(
        (i) =>
          '<rect class="ooo" x="' +
          (label + i * cellW).toFixed(2) +
          '" y="' +
          (y + rowH - 7) +
          '" width="' +
          Math.max(2, cellW).toFixed(2) +
          '" height="4" fill="#f08c00"/>',
      )
      .join('');
    svg +=
      '<g data-topic="' +
      esc(topic.topic) +
      '" data-messages="' +
      topic.messages +
      '"><title>' +
      esc(
        topic.topic +
          ' · ' +
          topic.schema +
          ' · ' +
          topic.messages +
          ' messages' +
          (topic.gaps.count ? ' · ' + topic.gaps.count + ' gaps' : '') +
          (topic.out_of_order.count ? ' · ' + topic.out_of_order.count + ' out of order' : ''),
      ) +
      '</title><text x="0" y="' +
      (y + rowH - 6) +
      '">' +
      esc(topic.topic.length > 28 ? '…' + topic.topic.slice(-27) : topic.topic) +
      '</text><rect x="' +
      label +
      '" y="' +
      y +
      '" width="' +
      plotW +
      '" height="' +
      (rowH - 4) +
      '" fill="#f5f6f9"/>' +
      cells +
      gaps +
      ooo +
      '</g>';
  });
  const axisY = 4 + t.topics.length * rowH + 12;
  const seconds = span / 1e9;
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const x = label + (plotW * i) / ticks;
    svg +=
      '<text x="' +
      x.toFixed(1) +
      '" y="' +
      axisY +
      '" text-anchor="' +
      (i === 0 ? 'start' : i === ticks ? 'end' : 'middle') +
      '">+' +
      fmtNum((seconds * i) / ticks, 1) +
      ' s</text>';
  }
  el.onclick = (event) => {
    const box = el.querySelector('svg').getBoundingClientRect();
    const x = ((event.clientX - box.left) * width) / box.width;
    if (x < label || t.start_time === null) return;
    // A tenth of the recording around the click, in the plot below.
    const at = start + BigInt(Math.round(((x - label) / plotW) * span));
    const half = BigInt(Math.max(1, Math.round(span / 20)));
    drawMainPlot({ start: at - half, end: at + half, marker: Number(at / 1000n) / 1e6 }).catch((e) => showError($('plot'), e));
  };
  el.innerHTML =
    '<svg viewBox="0 0 ' + width + ' ' + (axisY + 6) + '" height="' + (axisY + 6) + '" role="img" aria-label="coverage timeline">' + svg + '</svg>';
}

// ---- plots ----------------------------------------------------------------------------------
async function tableFields(id, name) {
  current.fields ??= {};
  current.fields[name] ??= await api('v1/recordings/' + encodeURIComponent(id) + '/tables/' + encodeURIComponent(name) + '/fields');
  return current.fields[name];
}

/** A uPlot of a series answer: each field's mean as a line over its min–max band. */
function drawSeries(el, answer, { onRange, onPick, marker } = {}) {
  el.innerHTML = '';
  const fields = Object.keys(answer.series);
  const data = [answer.t];
  const series = [{}];
  const bands = [];
  fields.forEach((name, i) => {
    const color = COLORS[i % COLORS.length];
    const s = answer.series[name];
    const base = data.length;
    data.push(s.mean);
    series.push({ label: name, stroke: color, width: 1.5, points: { show: answer.points < 200 } });
    // A bucket's min and max only differ from its mean when it holds more than one row.
    if (answer.downsampled) {
      data.push(s.min, s.max);
      series.push({ label: 'min', stroke: color + '55', width: 0.5, points: { show: false } });
      series.push({ label: 'max', stroke: color + '55', width: 0.5, points: { show: false } });
      bands.push({ series: [base + 2, base + 1], fill: color + '22' });
    }
  });
  const opts = {
    width: Math.max(500, widthOf(el)),
    height: 300,
    scales: { x: { time: true } },
    series,
    bands,
    legend: { live: false },
    cursor: { drag: { x: true, y: false, setScale: false } },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 4 || !onRange) return;
          const a = u.posToVal(u.select.left, 'x');
          const b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          onRange(secondsToNs(a), secondsToNs(b));
        },
      ],
      draw: [
        (u) => {
          if (marker === undefined) return;
          const x = u.valToPos(marker, 'x', true);
          u.ctx.save();
          u.ctx.strokeStyle = '#d7263d';
          u.ctx.setLineDash([4, 4]);
          u.ctx.beginPath();
          u.ctx.moveTo(x, u.bbox.top);
          u.ctx.lineTo(x, u.bbox.top + u.bbox.height);
          u.ctx.stroke();
          u.ctx.restore();
        },
      ],
    },
  };
  const plot = new uPlot(opts, data, el);
  // The min and max lines only draw the band: keep them out of the legend.
  for (const entry of plot.root.querySelectorAll('.u-legend .u-series')) if (/^(min|max)$/.test(entry.textContent.trim())) entry.style.display = 'none';
  el.dataset.points = String(answer.points);
  el.dataset.rows = String(answer.rows);
  if (onPick)
    plot.over.addEventListener('click', () => {
      const i = plot.cursor.idx;
      if (i !== null && i !== undefined) onPick(data[0][i]);
    });
  return plot;
}

function seriesUrl(id, { table: name, topic, fields, start, end, points = 1000 }) {
  const p = new URLSearchParams({ table: name, points: String(points) });
  if (topic) p.set('topic', topic);
  for (const f of fields) p.append('field', f);
  if (start !== undefined) p.set('start', String(start));
  if (end !== undefined) p.set('end', String(end));
  return 'v1/recordings/' + encodeURIComponent(id) + '/series?' + p.toString();
}

async function setupPlot(m, params) {
  const form = $('plot-form');
  const plottable = Object.keys(m.tables).filter((name) => m.topics.some((t) => t.table === name) || name === 'imu_windows');
  form.elements.table.innerHTML = plottable.map((n) => '<option>' + esc(n) + '</option>').join('');
  const preferred = plottable.find((n) => /imu/i.test(n) && n !== 'imu_windows') ?? plottable[0];
  if (!preferred) {
    $('plot').innerHTML = '<p class="muted">no table to plot</p>';
    return;
  }
  form.elements.table.value = preferred;
  await chooseTable(preferred);
  const at = params.get('at');
  if (at) {
    const centre = BigInt(at);
    await drawMainPlot({ start: centre - 5_000_000_000n, end: centre + 5_000_000_000n, marker: Number(centre / 1000n) / 1e6 });
  } else await drawMainPlot({});
}

async function chooseTable(name) {
  const form = $('plot-form');
  const f = await tableFields(current.id, name);
  form.elements.topic.innerHTML = f.topics.map((t) => '<option>' + esc(t) + '</option>').join('');
  const defaults = f.fields.filter((x) => /linear_acceleration\.|twist\.twist\.linear\.x|_mean$/.test(x)).slice(0, 3);
  const chosen = new Set(defaults.length ? defaults : f.fields.slice(0, 1));
  $('plot-fields').innerHTML = f.fields
    .map((x) => '<label><input type="checkbox" name="field" value="' + esc(x) + '"' + (chosen.has(x) ? ' checked' : '') + '> ' + esc(x) + '</label>')
    .join('');
}

async function drawMainPlot({ start, end, marker }) {
  const form = $('plot-form');
  const fields = [...form.querySelectorAll('input[name=field]:checked')].map((i) => i.value);
  if (fields.length === 0) {
    $('plot-info').textContent = 'pick at least one field';
    return;
  }
  const request = { table: form.elements.table.value, topic: form.elements.topic.value, fields, start, end };
  const answer = await api(seriesUrl(current.id, request));
  $('plot-info').textContent =
    fmtNum(answer.rows) +
    ' rows of ' +
    answer.table +
    (answer.topic ? ' on ' + answer.topic : '') +
    (answer.downsampled ? ', downsampled on the server to ' + answer.points + ' points (min, max and mean each)' : ', every row') +
    '. Drag to zoom; click a point to find similar moments.';
  current.plots.main?.destroy();
  current.plots.main = drawSeries($('plot'), answer, {
    marker,
    onRange: (a, b) => drawMainPlot({ start: a, end: b }).catch((e) => showError($('plot'), e)),
    onPick: (t) => findSimilar(t, request.topic).catch((e) => showError($('similar'), e)),
  });
}

async function setupFeatures(m) {
  const el = $('features-plot');
  current.plots.features?.destroy();
  el.innerHTML = '';
  el.removeAttribute('data-points');
  if (!m.tables.imu_windows || m.tables.imu_windows.rows === 0) {
    $('features-info').textContent = 'this recording has no per-window features (imu_windows holds none of its rows)';
    return;
  }
  const f = await tableFields(current.id, 'imu_windows');
  const fields = f.fields.filter((x) => /^linear_acceleration_[xyz]_std$|^angular_velocity_z_mean$/.test(x)).slice(0, 4);
  const answer = await api(seriesUrl(current.id, { table: 'imu_windows', topic: f.topics[0], fields: fields.length ? fields : f.fields.slice(0, 2) }));
  $('features-info').textContent = fmtNum(answer.rows) + ' windows of ' + (f.topics[0] ?? '') + ' (imu_windows); click a window to find similar moments.';
  current.plots.features = drawSeries(el, answer, { onPick: (t) => findSimilar(t, f.topics[0]).catch((e) => showError($('similar'), e)) });
}

async function findSimilar(seconds, topic) {
  const el = $('similar');
  if (!current.manifest.tables.imu_windows) {
    el.innerHTML = '<p class="muted">similar moments need the imu_windows table</p>';
    return;
  }
  const at = secondsToNs(seconds);
  const p = new URLSearchParams({ at: at.toString(), k: '5' });
  if (topic && current.fields?.imu_windows?.topics.includes(topic)) p.set('topic', topic);
  const answer = await api('v1/recordings/' + encodeURIComponent(current.id) + '/similar?' + p.toString());
  const items = answer.neighbours.map(
    (n) =>
      `<li data-similar="${esc(n.recording_id)}"><a href="#/recording/${esc(n.recording_id)}?at=${esc(n.window_start)}"><code>${esc(n.recording_id.slice(0, 12))}…</code> ` +
      `${esc(n.topic)} ${esc(isoOfNs(n.window_start))}</a> <span class="muted">distance ${fmtNum(n.distance, 3)}</span></li>`,
  );
  el.innerHTML = `<p>Moments most like <code>${esc(answer.query.topic)}</code> ${esc(isoOfNs(answer.query.window_start))} (${fmtNum(answer.windows)} windows searched):</p><ol>${items.join('')}</ol>`;
}

$('plot-form').addEventListener('submit', (event) => {
  event.preventDefault();
  drawMainPlot({}).catch((e) => showError($('plot'), e));
});
$('plot-reset').addEventListener('click', () => drawMainPlot({}).catch((e) => showError($('plot'), e)));
$('plot-form').elements.table.addEventListener('change', (event) => {
  chooseTable(event.target.value)
    .then(() => drawMainPlot({}))
    .catch((e) => showError($('plot'), e));
});

// ---- extraction downloads -------------------------------------------------------------------
function setupExtract(m) {
  const form = $('extract-form');
  $('extract-topics').innerHTML = m.topics
    .map((t) => '<label><input type="checkbox" name="topic" value="' + esc(t.topic) + '"> ' + esc(t.topic) + '</label>')
    .join('');
  form.elements.start.value = isoOfNs(m.start_time);
  form.elements.end.value = m.end_time === null ? '' : isoOfNs((BigInt(m.end_time) + 1000000n).toString());
  updateExtractLink();
}
function updateExtractLink() {
  const form = $('extract-form');
  const p = new URLSearchParams();
  for (const box of form.querySelectorAll('input[name=topic]:checked')) p.append('topic', box.value);
  if (form.elements.start.value) p.set('start', form.elements.start.value);
  if (form.elements.end.value) p.set('end', form.elements.end.value);
  p.set('format', form.elements.format.value);
  $('extract-link').href = 'v1/recordings/' + encodeURIComponent(current.id) + '/extract?' + p.toString();
}
$('extract-form').addEventListener('change', updateExtractLink);
$('extract-form').addEventListener('input', updateExtractLink);

// ---- SQL console ----------------------------------------------------------------------------
let sqlChart = null;
const isNumeric = (v) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
const isIsoTime = (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v);

/** x: a time column (ISO text, or nanoseconds named like one) when there is one, else the row's label. */
function chartOf(result) {
  const { columns, rows } = result;
  if (rows.length < 2) return null;
  const kinds = columns.map((name, i) => {
    const values = rows.map((r) => r[i]).filter((v) => v !== null);
    if (values.length === 0) return 'other';
    if (values.every(isIsoTime)) return 'time';
    if (values.every(isNumeric)) return /time|_start|_end|stamp/.test(name) && values.every((v) => Number(v) > 1e15) ? 'time-ns' : 'number';
    return 'other';
  });
  const timeIndex = kinds.findIndex((k) => k === 'time' || k === 'time-ns');
  const numbers = kinds.map((k, i) => (k === 'number' ? i : -1)).filter((i) => i >= 0);
  if (numbers.length === 0) return null;
  if (timeIndex >= 0) {
    const x = rows.map((r) => (kinds[timeIndex] === 'time' ? Date.parse(r[timeIndex]) / 1000 : Number(r[timeIndex]) / 1e9));
    const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
    return {
      time: true,
      labels: null,
      data: [order.map((i) => x[i]), ...numbers.map((c) => order.map((i) => Number(rows[i][c])))],
      names: numbers.map((c) => columns[c]),
    };
  }
  const labelIndex = kinds.findIndex((k) => k === 'other');
  return {
    time: false,
    labels: rows.map((r, i) => (labelIndex >= 0 ? String(r[labelIndex]) : String(i + 1))),
    data: [rows.map((_, i) => i), ...numbers.map((c) => rows.map((r) => Number(r[c])))],
    names: numbers.map((c) => columns[c]),
  };
}

function renderSql(params) {
  const sql = params.get('q');
  if (sql) {
    $('sql-text').value = sql;
    runSql().catch(() => {});
  }
}
async function runSql() {
  $('sql-info').textContent = 'running…';
  const started = performance.now();
  let result;
  try {
    result = await query($('sql-text').value);
  } catch (error) {
    $('sql-info').innerHTML = '<span class="bad">' + esc(error.message) + '</span>';
    return;
  }
  $('sql-info').textContent =
    result.rows.length + ' rows' + (result.truncated ? ' (cut at the row or byte limit)' : '') + ' in ' + fmtNum(performance.now() - started) + ' ms';
  const cell = (v) => (v !== null && typeof v === 'object' ? '<code>' + esc(JSON.stringify(v)) + '</code>' : esc(v));
  table(
    $('sql-result'),
    result.columns,
    result.rows.map((r) => '<tr>' + r.map((v) => '<td' + (isNumeric(v) ? ' class="num"' : '') + '>' + cell(v) + '</td>').join('') + '</tr>'),
  );
  sqlChart?.destroy();
  sqlChart = null;
  const el = $('sql-chart');
  el.innerHTML = '';
  const chart = chartOf(result);
  if (!chart) return;
  const bars = chart.time ? null : uPlot.paths.bars({ size: [0.6, 60] });
  sqlChart = new uPlot(
    {
      width: Math.max(500, widthOf(el)),
      height: 260,
      scales: { x: { time: chart.time } },
      axes: chart.time ? undefined : [{ values: (_u, ticks) => ticks.map((i) => chart.labels[i] ?? '') }, {}],
      series: [
        {},
        ...chart.names.map((name, i) => ({
          label: name,
          stroke: COLORS[i % COLORS.length],
          fill: bars ? COLORS[i % COLORS.length] + '88' : undefined,
          paths: bars ?? undefined,
        })),
      ],
    },
    chart.data,
    el,
  );
  el.dataset.points = String(chart.data[0].length);
  el.dataset.kind = chart.time ? 'time' : 'bars';
}
$('sql-form').addEventListener('submit', (event) => {
  event.preventDefault();
  runSql().catch(() => {});
});

// ---- wiring ---------------------------------------------------------------------------------
document.addEventListener('click', async (event) => {
  const retry = event.target.getAttribute('data-retry');
  const discard = event.target.getAttribute('data-discard');
  if (!retry && !discard) return;
  event.target.disabled = true;
  try {
    if (retry) await api('v1/dlq/' + encodeURIComponent(retry) + '/retry', { method: 'POST', body: '{}' });
    else await api('v1/dlq/' + encodeURIComponent(discard), { method: 'DELETE' });
  } catch (error) {
    alert(error.message);
  }
  refreshStatus().catch(() => {});
});
$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const res = await fetch('v1/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: $('token').value }),
  });
  if (!res.ok) {
    $('signin-error').textContent = 'that token is not valid';
    return;
  }
  $('token').value = '';
  $('signin-error').textContent = '';
  render().catch(() => {});
});
$('signout').addEventListener('click', async () => {
  await fetch('v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
  showSignin();
});
window.addEventListener('hashchange', () => render().catch(() => {}));
render().catch(() => {});
// Only the status view is live; a recording's page stays put while someone reads it.
setInterval(() => {
  if (route().view === 'status' && !$('view-status').hidden) refreshStatus().catch(() => {});
}, 2000);
