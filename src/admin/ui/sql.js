// The SQL console: POST /v1/query as a table, and as a chart when the answer has a time or numeric column.
import { $, COLORS, esc, fmtNum, query, table, widthOf } from './common.js';

// ---- SQL console ----------------------------------------------------------------------------
export let sqlChart = null;
export const isNumeric = (v) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
export const isIsoTime = (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v);

/** x: a time column (ISO text, or nanoseconds named like one) when there is one, else the row's label. */
export function chartOf(result) {
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

export function renderSql(params) {
  const sql = params.get('q');
  if (sql) {
    $('sql-text').value = sql;
    runSql().catch(() => {});
  }
}
export async function runSql() {
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
