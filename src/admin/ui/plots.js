// A recording's plots: series downsampled on the server, zoom by asking again, similar moments from a click.
import { page } from './state.js';
import { $, COLORS, api, esc, fmtNum, isoOfNs, secondsToNs, showError, widthOf } from './common.js';

// ---- plots ----------------------------------------------------------------------------------
export async function tableFields(id, name) {
  page.current.fields ??= {};
  page.current.fields[name] ??= await api('v1/recordings/' + encodeURIComponent(id) + '/tables/' + encodeURIComponent(name) + '/fields');
  return page.current.fields[name];
}

/** A uPlot of a series answer: each field's mean as a line over its min–max band. */
export function drawSeries(el, answer, { onRange, onPick, marker } = {}) {
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

export function seriesUrl(id, { table: name, topic, fields, start, end, points = 1000 }) {
  const p = new URLSearchParams({ table: name, points: String(points) });
  if (topic) p.set('topic', topic);
  for (const f of fields) p.append('field', f);
  if (start !== undefined) p.set('start', String(start));
  if (end !== undefined) p.set('end', String(end));
  return 'v1/recordings/' + encodeURIComponent(id) + '/series?' + p.toString();
}

export async function setupPlot(m, params) {
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

export async function chooseTable(name) {
  const form = $('plot-form');
  const f = await tableFields(page.current.id, name);
  form.elements.topic.innerHTML = f.topics.map((t) => '<option>' + esc(t) + '</option>').join('');
  const defaults = f.fields.filter((x) => /linear_acceleration\.|twist\.twist\.linear\.x|_mean$/.test(x)).slice(0, 3);
  const chosen = new Set(defaults.length ? defaults : f.fields.slice(0, 1));
  $('plot-fields').innerHTML = f.fields
    .map((x) => '<label><input type="checkbox" name="field" value="' + esc(x) + '"' + (chosen.has(x) ? ' checked' : '') + '> ' + esc(x) + '</label>')
    .join('');
}

export async function drawMainPlot({ start, end, marker }) {
  const form = $('plot-form');
  const fields = [...form.querySelectorAll('input[name=field]:checked')].map((i) => i.value);
  if (fields.length === 0) {
    $('plot-info').textContent = 'pick at least one field';
    return;
  }
  const request = { table: form.elements.table.value, topic: form.elements.topic.value, fields, start, end };
  const answer = await api(seriesUrl(page.current.id, request));
  $('plot-info').textContent =
    fmtNum(answer.rows) +
    ' rows of ' +
    answer.table +
    (answer.topic ? ' on ' + answer.topic : '') +
    (answer.downsampled ? ', downsampled on the server to ' + answer.points + ' points (min, max and mean each)' : ', every row') +
    '. Drag to zoom; click a point to find similar moments.';
  page.current.plots.main?.destroy();
  page.current.plots.main = drawSeries($('plot'), answer, {
    marker,
    onRange: (a, b) => drawMainPlot({ start: a, end: b }).catch((e) => showError($('plot'), e)),
    onPick: (t) => findSimilar(t, request.topic).catch((e) => showError($('similar'), e)),
  });
}

export async function setupFeatures(m) {
  const el = $('features-plot');
  page.current.plots.features?.destroy();
  el.innerHTML = '';
  el.removeAttribute('data-points');
  if (!m.tables.imu_windows || m.tables.imu_windows.rows === 0) {
    $('features-info').textContent = 'this recording has no per-window features (imu_windows holds none of its rows)';
    return;
  }
  const f = await tableFields(page.current.id, 'imu_windows');
  const fields = f.fields.filter((x) => /^linear_acceleration_[xyz]_std$|^angular_velocity_z_mean$/.test(x)).slice(0, 4);
  const answer = await api(seriesUrl(page.current.id, { table: 'imu_windows', topic: f.topics[0], fields: fields.length ? fields : f.fields.slice(0, 2) }));
  $('features-info').textContent = fmtNum(answer.rows) + ' windows of ' + (f.topics[0] ?? '') + ' (imu_windows); click a window to find similar moments.';
  page.current.plots.features = drawSeries(el, answer, { onPick: (t) => findSimilar(t, f.topics[0]).catch((e) => showError($('similar'), e)) });
}

export async function findSimilar(seconds, topic) {
  const el = $('similar');
  if (!page.current.manifest.tables.imu_windows) {
    el.innerHTML = '<p class="muted">similar moments need the imu_windows table</p>';
    return;
  }
  const at = secondsToNs(seconds);
  const p = new URLSearchParams({ at: at.toString(), k: '5' });
  if (topic && page.current.fields?.imu_windows?.topics.includes(topic)) p.set('topic', topic);
  const answer = await api('v1/recordings/' + encodeURIComponent(page.current.id) + '/similar?' + p.toString());
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
