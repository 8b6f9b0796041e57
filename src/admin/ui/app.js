// The admin role's web UI: status, the data browser (recordings, a recording's page with its
// coverage timeline and plots) and a SQL console. Plain browser modules over the admin API; the
// session cookie set at sign-in authenticates every request. Plots are uPlot's (a global).
import { $, route, showSignin } from './common.js';
import { refreshStatus } from './status.js';
import { renderRecordings } from './recordings.js';
import { renderRecording } from './recording.js';
import { renderSql } from './sql.js';

function signedIn() {
  $('signin').style.display = 'none';
  $('nav').hidden = false;
  $('signout').hidden = false;
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
