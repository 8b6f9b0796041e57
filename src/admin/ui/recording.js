// A recording's page: facts, coverage timeline, topics, attachments, metadata, where its data lives, downloads.
import { page } from './state.js';
import { $, api, esc, fmtBytes, fmtNum, isoOfNs, num, query, showError, table, td, widthOf } from './common.js';
import { drawMainPlot, setupFeatures, setupPlot } from './plots.js';

// ---- a recording ----------------------------------------------------------------------------

export async function renderRecording(id, params) {
  const detail = await api('v1/recordings/' + encodeURIComponent(id));
  const m = detail.manifest;
  const previous = page.current;
  page.current = { id, detail, manifest: m, plots: {} };
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

export function renderTopics(m) {
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

export function renderTables(m) {
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

export async function renderAttachments(id, m) {
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
export async function renderTimeline(id) {
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

// ---- extraction downloads -------------------------------------------------------------------
export function setupExtract(m) {
  const form = $('extract-form');
  $('extract-topics').innerHTML = m.topics
    .map((t) => '<label><input type="checkbox" name="topic" value="' + esc(t.topic) + '"> ' + esc(t.topic) + '</label>')
    .join('');
  form.elements.start.value = isoOfNs(m.start_time);
  form.elements.end.value = m.end_time === null ? '' : isoOfNs((BigInt(m.end_time) + 1000000n).toString());
  updateExtractLink();
}
export function updateExtractLink() {
  const form = $('extract-form');
  const p = new URLSearchParams();
  for (const box of form.querySelectorAll('input[name=topic]:checked')) p.append('topic', box.value);
  if (form.elements.start.value) p.set('start', form.elements.start.value);
  if (form.elements.end.value) p.set('end', form.elements.end.value);
  p.set('format', form.elements.format.value);
  $('extract-link').href = 'v1/recordings/' + encodeURIComponent(page.current.id) + '/extract?' + p.toString();
}
$('extract-form').addEventListener('change', updateExtractLink);
$('extract-form').addEventListener('input', updateExtractLink);
