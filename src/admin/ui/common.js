// What every view of the admin UI shares: the API client, formatting and table helpers.

export const $ = (id) => document.getElementById(id);
export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// Views are laid out before they are shown, so a hidden element's width is the page's.
export const widthOf = (el) => el.clientWidth || document.body.clientWidth - 20;
export const COLORS = ['#3b6fd8', '#d7263d', '#16794a', '#f08c00', '#7b2cbf', '#00838f', '#8d6e63', '#c2185b'];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function api(path, options = {}) {
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
export const query = (sql) => api('v1/query', { method: 'POST', body: JSON.stringify({ sql }) });

// ---- formatting ----------------------------------------------------------------------------
export const nsToDate = (ns) => new Date(Number(BigInt(ns) / 1000000n));
export const isoOfNs = (ns) => (ns === null || ns === undefined ? '' : nsToDate(ns).toISOString());
export const secondsToNs = (s) => BigInt(Math.round(s * 1e6)) * 1000n;
export function fmtBytes(n) {
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
export const fmtNum = (n, digits = 0) => (n === null || n === undefined ? '' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits }));
export function table(el, headers, rows) {
  el.innerHTML =
    '<tr>' +
    headers.map((h) => (typeof h === 'string' ? '<th>' + esc(h) + '</th>' : h.html)).join('') +
    '</tr>' +
    (rows.length ? rows.join('') : '<tr><td colspan="' + headers.length + '" class="muted">none</td></tr>');
}
export const td = (html, cls) => (cls ? `<td class="${cls}">${html}</td>` : `<td>${html}</td>`);
export const num = (html) => td(html, 'num');
export const stateCell = (state) => td(esc(state), 'state-' + esc(state));
/** A recording's id, a link to its page once it is committed. */
export const recordingLink = (id, state) =>
  state === 'committed' ? `<a href="#/recording/${esc(id)}"><code>${esc(id)}</code></a>` : `<code>${esc(id)}</code>`;
export function showError(el, error) {
  el.innerHTML = '<p class="bad">' + esc(error.message) + '</p>';
}

export function showSignin() {
  $('signin').style.display = 'block';
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('nav').hidden = true;
  $('signout').hidden = true;
}

/** The view the location names: #/, #/recordings?…, #/recording/<id>?…, #/sql?… */
export function route() {
  const [path, search] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(search ?? '');
  const parts = (path || '/').split('/').filter(Boolean);
  if (parts[0] === 'recordings') return { view: 'recordings', params };
  if (parts[0] === 'recording' && /^[0-9a-f]{32}$/.test(parts[1] ?? '')) return { view: 'recording', id: parts[1], params };
  if (parts[0] === 'sql') return { view: 'sql', params };
  return { view: 'status', params };
}
