// The status view: queues, dead letters (retry, discard), backfills, the newest recordings.
import { $, api, esc, num, recordingLink, stateCell, table, td } from './common.js';

// ---- status ---------------------------------------------------------------------------------
export async function refreshStatus() {
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
