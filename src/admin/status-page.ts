/**
 * The status page: one static HTML document whose script reads the admin API (signed in
 * with the admin token, which the server trades for an HttpOnly session cookie). Queue detail is bull-board's, at
 * /queues; this page adds what bull-board cannot know: recordings, dead letters with
 * retry buttons, backfills with progress.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcapflow</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
  th { font-weight: 600; background: #f5f6f9; } code { font-size: 12px; }
  .state-committed { color: #16794a; } .state-failed, .state-quarantined { color: #b4232c; } .muted { color: #6b7385; }
  button { font: inherit; padding: .15rem .6rem; cursor: pointer; } #signin { display: none; max-width: 28rem; }
  .bar { background: #e3e6ec; height: .5rem; width: 8rem; display: inline-block; vertical-align: middle; } .bar > span { background: #3b6fd8; height: 100%; display: block; }
</style>
</head>
<body>
<h1>mcapflow <span class="muted" id="updated"></span> <button id="signout" hidden>Sign out</button></h1>
<form id="signin"><p>Sign in with the admin token (<code>MCAPFLOW_ADMIN_TOKEN</code>, or <code>tokens.json</code> in <code>MCAPFLOW_HOME</code>).</p>
  <input id="token" type="password" size="40" autocomplete="off" aria-label="admin token"> <button type="submit">Sign in</button> <span id="signin-error" class="state-failed"></span></form>
<main id="main" hidden>
  <h2>Queues <a href="queues/" class="muted">(queue board)</a></h2><table id="queues"></table>
  <h2>Dead letters</h2><table id="dlq"></table>
  <h2>Backfills</h2><table id="backfills"></table>
  <h2>Recordings</h2><table id="recordings"></table>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', headers: options.body ? { 'content-type': 'application/json' } : {}, ...options });
  if (res.status === 401 || res.status === 403) { showSignin(); throw new Error('signed out'); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : res.statusText);
  return body;
}
function showSignin() { $('signin').style.display = 'block'; $('main').hidden = true; $('signout').hidden = true; }
function table(el, headers, rows) {
  el.innerHTML = '<tr>' + headers.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
    (rows.length ? rows.join('') : '<tr><td colspan="' + headers.length + '" class="muted">none</td></tr>');
}
async function refresh() {
  const [queues, dlq, backfills, recordings] = await Promise.all([api('v1/queues'), api('v1/dlq'), api('v1/backfills'), api('v1/recordings?limit=100')]);
  $('signin').style.display = 'none'; $('main').hidden = false; $('signout').hidden = false;
  const states = ['waiting', 'active', 'delayed', 'waiting-children', 'completed', 'failed'];
  table($('queues'), ['queue', ...states, 'paused'], queues.queues.map((q) => '<tr><td>' + esc(q.name) + '</td>' + states.map((s) => '<td>' + esc(q.counts[s] ?? 0) + '</td>').join('') + '<td>' + (q.paused ? 'yes' : '') + '</td></tr>'));
  table($('dlq'), ['entry', 'recording', 'attempts', 'last error', ''], dlq.items.map((l) =>
    '<tr data-dlq="' + esc(l.id) + '"><td><code>' + esc(l.id) + '</code></td><td><code>' + esc(l.recordingId) + '</code></td><td>' + l.attempts.length +
    '</td><td>' + esc(l.failedReason) + '</td><td><button data-retry="' + esc(l.id) + '">Retry</button> <button data-discard="' + esc(l.id) + '">Discard</button></td></tr>'));
  table($('backfills'), ['id', 'state', 'source', 'listed', 'enqueued', 'skipped', 'committed', 'quarantined', 'failed'], backfills.items.map((b) =>
    '<tr><td><code>' + esc(b.id) + '</code></td><td>' + esc(b.state) + '</td><td>s3://' + esc(b.bucket) + '/' + esc(b.prefix) + '</td>' +
    ['listed', 'enqueued', 'skipped', 'committed', 'quarantined', 'failed'].map((k) => '<td>' + esc(b[k]) + '</td>').join('') + '</tr>'));
  table($('recordings'), ['recording', 'state', 'source', 'progress', 'reason', 'updated'], recordings.items.map((r) => {
    const pct = r.jobsTotal ? Math.min(100, Math.round((100 * r.jobsDone) / r.jobsTotal)) : 0;
    return '<tr data-recording="' + esc(r.recordingId) + '"><td><code>' + esc(r.recordingId) + '</code></td><td class="state-' + esc(r.state) + '">' + esc(r.state) +
      '</td><td>' + esc(r.source) + '</td><td><span class="bar"><span style="width:' + pct + '%"></span></span> ' + esc(r.jobsDone) + '/' + esc(r.jobsTotal) +
      '</td><td>' + esc(r.reason) + '</td><td class="muted">' + esc(r.updatedAt) + '</td></tr>';
  }));
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}
document.addEventListener('click', async (event) => {
  const retry = event.target.getAttribute('data-retry'); const discard = event.target.getAttribute('data-discard');
  if (!retry && !discard) return;
  event.target.disabled = true;
  try {
    if (retry) await api('v1/dlq/' + encodeURIComponent(retry) + '/retry', { method: 'POST', body: '{}' });
    else await api('v1/dlq/' + encodeURIComponent(discard), { method: 'DELETE' });
  } catch (error) { alert(error.message); }
  refresh().catch(() => {});
});
$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const res = await fetch('v1/session', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: $('token').value }) });
  if (!res.ok) { $('signin-error').textContent = 'that token is not valid'; return; }
  $('token').value = ''; $('signin-error').textContent = '';
  refresh().catch(() => {});
});
$('signout').addEventListener('click', async () => {
  await fetch('v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
  showSignin();
});
refresh().catch(() => {});
setInterval(() => refresh().catch(() => {}), 2000);
</script>
</body>
</html>
`;
