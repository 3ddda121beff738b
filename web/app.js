// tokenlog's web page: plain JavaScript over the public API of API.md.
//
// Rules this file keeps:
// - The JWT comes from the URL fragment (#jwt=…) once, moves to sessionStorage
//   and the fragment is cleared. Every call sends it as a Bearer token; a
//   sign-out or 401 reloads the page (nothing of the session stays in it) and
//   shows the signed-out explanation, once no new value is on screen. The payload is decoded only to show who
//   is signed in and whether to offer the Admin pages: the server decides.
// - A token value lives only in `reveal.value` and in the reveal dialog while
//   that dialog is open; closing it clears both. It never goes to the URL,
//   to storage or to the console.
// - API data reaches the page through textContent only (labels are user data).
'use strict';

const JWT_KEY = 'tokenlog.jwt';

const state = {
  jwt: null,
  claims: null,   // {sub, tenant, role}
  view: null,
  tokens: [],
  activeCount: 0,
  maxActive: 5,
  labels: new Map(),   // token id -> label, for readable activity
  policy: null,        // admins only (users cannot read it)
  activity: { cursors: [null], page: 0 },
  adminActivity: { cursors: [null], page: 0, query: '' },
  adminTokens: { cursor: null, query: '' },
  previewed: null,     // the policy body the preview was made for
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- helpers

// el('td', {class: 'x'}, 'text', child): children are strings (text nodes) or nodes.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function show(node, visible) { node.hidden = !visible; }

function setText(id, text) {
  const node = $(id);
  node.textContent = text || '';
  node.hidden = !text;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

function formatTime(iso) { return iso ? dateTimeFormat.format(new Date(iso)) : ''; }

// <time> with a readable text and the exact instant as its title.
function timeNode(iso, { dateOnly = false, empty = '—' } = {}) {
  if (!iso) return el('span', { class: 'muted' }, empty);
  const d = new Date(iso);
  return el('time', { datetime: iso, title: iso }, dateOnly ? dateFormat.format(d) : dateTimeFormat.format(d));
}

function quote(label) { return `“${label}”`; }

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

let toastTimer = null;
function toast(message) {
  const node = $('toast');
  node.textContent = message;
  node.classList.add('visible');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove('visible'), 6000);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.type = problem.type || 'unknown';
    this.detail = problem.detail || problem.title || `The server answered ${status}.`;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.jwt}`, Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { type: 'network', detail: 'The server could not be reached: check the connection and try again.' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.status === 401) {
    signOut('Your sign-in is no longer valid (it may have expired).');
    throw new ApiError(401, data || {});
  }
  if (!res.ok) throw new ApiError(res.status, data || {});
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.append(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---------------------------------------------------------------- sign-in

function decodeClaims(jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) return null;
  try {
    let b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' && typeof claims.sub === 'string' ? claims : null;
  } catch {
    return null;
  }
}

// The JWT of #jwt=… moves to sessionStorage and leaves the address bar.
function takeJwtFromFragment() {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : '';
  const params = new URLSearchParams(hash);
  const jwt = params.get('jwt');
  if (hash) history.replaceState(null, '', location.pathname + location.search);
  if (jwt) sessionStorage.setItem(JWT_KEY, jwt);
}

const SIGNED_OUT_KEY = 'tokenlog.signedOut';
// The reason of a sign-out put off while a new value is on screen.
let pendingSignOut = null;

function signOut(reason) {
  const hadSession = state.jwt !== null || pendingSignOut !== null;
  sessionStorage.removeItem(JWT_KEY);
  state.jwt = null;
  state.claims = null;
  if (reveal.value !== null) {
    // A 401 right after a mint or rotate (the list reload): the new value is
    // shown once and would be lost, so the page signs out when its dialog
    // closes (forgetSecret), not now. No call is made meanwhile: no JWT.
    pendingSignOut = reason;
    return;
  }
  pendingSignOut = null;
  if (hadSession) {
    // Nothing of the session may stay in the page (another person may use
    // this browser next): a reload starts from an empty document and shows
    // the reason there.
    sessionStorage.setItem(SIGNED_OUT_KEY, reason);
    location.reload();
    return;
  }
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  show($('nav'), false);
  show($('who'), false);
  $('signed-out-reason').textContent = reason;
  showView('signed-out');
}

// ---------------------------------------------------------------- views

const VIEWS = ['loading', 'signed-out', 'tokens', 'activity', 'admin'];
const TITLES = { tokens: 'Access tokens', activity: 'Activity', admin: 'Admin', 'signed-out': 'Signed out' };

function showView(name, { focus = false } = {}) {
  state.view = name;
  for (const v of VIEWS) show($(`view-${v}`), v === name);
  for (const button of document.querySelectorAll('.nav-item')) {
    if (button.dataset.view === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  document.title = `${TITLES[name] || 'tokenlog'} — tokenlog`;
  if (focus) $(`view-${name}`).querySelector('h1')?.focus();
}

async function openView(name, options = {}) {
  showView(name, options);
  try {
    if (name === 'tokens') await loadTokens();
    if (name === 'activity') {
      state.activity = { cursors: [null], page: 0 };
      if (!state.tokens.length) await loadTokens();
      await loadActivity();
    }
    if (name === 'admin') await loadAdmin();
  } catch (e) {
    if (e.status !== 401) toast(e.detail);
  }
}

// ---------------------------------------------------------------- tokens

const STATUS_TEXT = { active: 'Active', revoked: 'Revoked', expired: 'Expired' };
const REASON_TEXT = {
  user: 'by you', admin: 'by an admin', rotated: 'rotated', user_deactivated: 'user deactivated', leaked: 'leaked',
};

// `owner`: whose words "revoked by you" are (the caller's own tokens) or not (an admin's list).
function statusNode(token, { owner = true } = {}) {
  const badge = el('span', { class: `badge ${token.status}` }, STATUS_TEXT[token.status] || token.status);
  if (token.status === 'revoked' && token.revoked_reason) {
    const reason = !owner && token.revoked_reason === 'user' ? 'by the user' : (REASON_TEXT[token.revoked_reason] || token.revoked_reason);
    return el('span', { class: 'status' }, badge, el('span', { class: 'muted small' }, ` ${reason}`));
  }
  return badge;
}

function expiryNode(token) {
  if (!token.expires_at) return el('span', {}, 'Never');
  return timeNode(token.expires_at, { dateOnly: true });
}

function rememberLabels(tokens) {
  for (const t of tokens) state.labels.set(t.id, t.label);
}

async function loadTokens() {
  setText('tokens-error', '');
  let page;
  try {
    page = await api('GET', '/v1/tokens');
  } catch (e) {
    if (e.status !== 401) setText('tokens-error', `The tokens could not be loaded: ${e.detail}`);
    throw e;
  }
  state.tokens = page.tokens;
  state.activeCount = page.active_count;
  state.maxActive = page.max_active;
  rememberLabels(page.tokens);
  renderTokens();
}

function renderTokens() {
  const { tokens, activeCount, maxActive } = state;
  const atCap = activeCount >= maxActive;
  $('token-count').textContent = `${activeCount} of ${maxActive} active tokens`;
  const cap = $('cap-message');
  cap.textContent = atCap
    ? `You have ${maxActive} active tokens, the most you can have, so you cannot create another. ` +
      'Revoke a token you no longer use (its Revoke button below), then create the new one.'
    : '';
  show(cap, atCap);
  const create = $('create-open');
  create.setAttribute('aria-disabled', String(atCap));
  create.classList.toggle('disabled', atCap);
  if (atCap) create.setAttribute('aria-describedby', 'cap-message');
  else create.removeAttribute('aria-describedby');

  show($('tokens-empty'), tokens.length === 0);
  show($('tokens-table-wrap'), tokens.length > 0);
  const body = $('tokens-body');
  body.replaceChildren();
  for (const t of tokens) {
    const actions = el('td', { class: 'actions' });
    if (t.status === 'active') {
      actions.append(
        el('button', { type: 'button', 'aria-label': `Rotate ${quote(t.label)}`, onclick: () => confirmRotate(t) }, 'Rotate'),
        el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${quote(t.label)}`, onclick: () => confirmRevoke(t) }, 'Revoke'),
      );
    }
    body.append(el('tr', { class: t.status !== 'active' ? 'inactive' : null, 'data-token-id': t.id },
      el('th', { scope: 'row' }, el('span', { class: 'label' }, t.label), el('span', { class: 'hint' }, t.hint)),
      el('td', {}, timeNode(t.created_at, { dateOnly: true })),
      el('td', {}, expiryNode(t)),
      el('td', {}, timeNode(t.last_used_at, { empty: 'Never used' })),
      el('td', {}, statusNode(t)),
      actions));
  }
}

// ---------------------------------------------------------------- create

const EXPIRY_CHOICES = [7, 30, 90, 180, 365];

function fillExpiryOptions() {
  const select = $('create-expiry');
  select.replaceChildren();
  const p = state.policy;  // known to admins only: users see every choice and the API's answer
  const max = p ? p.max_lifetime_days : null;
  select.append(el('option', { value: '' }, p ? `Organisation default (${plural(p.default_lifetime_days, 'day', 'days')})` : 'Organisation default'));
  for (const days of EXPIRY_CHOICES) {
    if (max !== null && days > max) continue;
    select.append(el('option', { value: String(days) }, `In ${plural(days, 'day', 'days')}`));
  }
  if (p && max !== null && !EXPIRY_CHOICES.includes(max)) {
    select.append(el('option', { value: String(max) }, `In ${plural(max, 'day', 'days')} (the longest allowed)`));
  }
  if (p && max === null) select.append(el('option', { value: 'never' }, 'Never'));
}

function fieldError(inputId, errorId, message) {
  const input = $(inputId);
  setText(errorId, message);
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function openCreate() {
  if (state.activeCount >= state.maxActive) {
    $('cap-message').focus();
    return;
  }
  $('create-form').reset();
  fillExpiryOptions();
  fieldError('create-label', 'create-label-error', '');
  fieldError('create-expiry', 'create-expiry-error', '');
  setText('create-error', '');
  $('create-dialog').showModal();
  $('create-label').focus();
}

async function submitCreate(event) {
  event.preventDefault();
  const submit = $('create-submit');
  if (submit.disabled) return;
  fieldError('create-label', 'create-label-error', '');
  fieldError('create-expiry', 'create-expiry-error', '');
  setText('create-error', '');
  const body = { label: $('create-label').value };
  const expiry = $('create-expiry').value;
  if (expiry === 'never') body.expires_in_days = null;
  else if (expiry) body.expires_in_days = Number(expiry);
  submit.disabled = true;
  try {
    const minted = await api('POST', '/v1/tokens', body);
    const value = minted.token;
    delete minted.token;
    $('create-dialog').close();
    openReveal(value, minted, 'created');
    await loadTokens();
  } catch (e) {
    if (e.type === 'invalid_label') {
      fieldError('create-label', 'create-label-error', e.detail);
      $('create-label').focus();
    } else if (e.type === 'invalid_expiry') {
      fieldError('create-expiry', 'create-expiry-error', e.detail);
      $('create-expiry').focus();
    } else if (e.type === 'token_limit_reached') {
      setText('create-error', `${e.detail} Revoke a token you no longer use, then try again.`);
      loadTokens().catch(() => {});
    } else if (e.status !== 401) {
      setText('create-error', e.detail);
    }
  } finally {
    submit.disabled = false;
  }
}

// ---------------------------------------------------------------- reveal

// The value of the token being shown; null whenever the reveal dialog is closed.
const reveal = { value: null, hidden: true };

function renderSecret() {
  const code = $('reveal-value');
  const toggle = $('reveal-toggle');
  if (reveal.value === null) {
    code.textContent = '';
    return;
  }
  code.textContent = reveal.hidden ? '•'.repeat(reveal.value.length) : reveal.value;
  code.classList.toggle('masked', reveal.hidden);
  code.setAttribute('aria-label', reveal.hidden ? 'Token value (hidden)' : 'Token value');
  toggle.setAttribute('aria-label', reveal.hidden ? 'Show token' : 'Hide token');
  toggle.setAttribute('aria-pressed', String(!reveal.hidden));
}

function openReveal(value, token, how) {
  reveal.value = value;
  reveal.hidden = true;
  renderSecret();
  $('reveal-title').textContent = how === 'rotated' ? 'Copy the new value' : 'Copy your new token';
  const expiry = token.expires_at ? `it expires on ${dateFormat.format(new Date(token.expires_at))}` : 'it never expires';
  $('reveal-for').textContent = how === 'rotated'
    ? `${quote(token.label)} has a new value (${expiry}). The old value no longer works.`
    : `${quote(token.label)} is ready; ${expiry}.`;
  $('reveal-user').textContent = token.user;
  $('reveal-status').textContent = '';
  $('reveal-dialog').showModal();
  $('reveal-copy').focus();
}

async function copySecret() {
  if (reveal.value === null) return;
  try {
    await navigator.clipboard.writeText(reveal.value);
    $('reveal-status').textContent = 'Copied to the clipboard.';
  } catch {
    $('reveal-status').textContent = 'The browser did not allow copying: show the token and copy it by hand.';
  }
}

// Whatever closes the dialog (Done, Escape) forgets the value.
function forgetSecret() {
  reveal.value = null;
  reveal.hidden = true;
  $('reveal-value').textContent = '';
  $('reveal-status').textContent = '';
  if (pendingSignOut !== null) {
    signOut(pendingSignOut);
    return;
  }
  if (state.view === 'tokens') $('create-open').focus();
}

// ---------------------------------------------------------------- confirm

let confirmAction = null;

// A modal question; `action(note)` runs on confirm, and its error stays in the dialog.
function confirmDialog({ title, text, ok, danger = true, note = false, action }) {
  $('confirm-form').reset();
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const button = $('confirm-ok');
  button.textContent = ok;
  button.className = danger ? 'danger' : 'primary';
  show($('confirm-note-field'), note);
  setText('confirm-error', '');
  confirmAction = action;
  $('confirm-dialog').showModal();
  $('confirm-cancel').focus();
}

async function submitConfirm(event) {
  event.preventDefault();
  const button = $('confirm-ok');
  if (!confirmAction || button.disabled) return;
  button.disabled = true;
  setText('confirm-error', '');
  try {
    const action = confirmAction;
    await action($('confirm-note').value.trim());
    confirmAction = null;
    $('confirm-dialog').close();
  } catch (e) {
    if (e.status !== 401) setText('confirm-error', e.detail || String(e));
  } finally {
    button.disabled = false;
  }
}

function confirmRevoke(token) {
  confirmDialog({
    title: `Revoke ${quote(token.label)}?`,
    text: 'Apps that use this token are refused from their next request. This cannot be undone.',
    ok: 'Revoke token',
    action: async () => {
      await api('POST', `/v1/tokens/${encodeURIComponent(token.id)}/revoke`);
      toast(`You revoked ${quote(token.label)}.`);
      await loadTokens();
    },
  });
}

function confirmRotate(token) {
  confirmDialog({
    title: `Rotate ${quote(token.label)}?`,
    text: 'The token gets a new value, shown once. The current value stops working at once: ' +
      'paste the new one into the apps that use it.',
    ok: 'Rotate token',
    danger: false,
    action: async () => {
      const rotated = await api('POST', `/v1/tokens/${encodeURIComponent(token.id)}/rotate`);
      const value = rotated.token;
      delete rotated.token;
      $('confirm-dialog').close();
      openReveal(value, rotated, 'rotated');
      await loadTokens();
    },
  });
}

// ---------------------------------------------------------------- activity

const DENY_TEXT = {
  revoked: 'token revoked',
  expired: 'token expired',
  user_deactivated: 'user deactivated',
  user_mismatch: 'wrong username',
  tenant_mismatch: 'token of another organisation',
};

function me() { return state.claims ? state.claims.sub : null; }

function actorName(actor) {
  if (!actor) return 'Someone';
  if (actor.role === 'system') return 'tokenlog';
  if (actor.user && actor.user === me()) return 'You';
  if (actor.role === 'admin' && actor.user) return `${actor.user} (admin)`;
  return actor.user || 'Someone';
}

function tokenName(e) {
  const label = (e.data && typeof e.data.label === 'string') ? e.data.label : state.labels.get(e.token_id);
  if (label !== undefined) return quote(label);
  return e.token_id ? `token ${e.token_id}` : 'a token';
}

function subjectName(e) { return e.user === me() ? 'you' : e.user; }

function lifetime(days) { return days === null || days === undefined ? 'none' : plural(days, 'day', 'days'); }

// One event as a sentence and a detail line.
function describe(e) {
  const d = e.data || {};
  const who = actorName(e.actor);
  const token = tokenName(e);
  const times = (n) => (n > 1 ? ` (${n} times)` : '');
  switch (e.type) {
    case 'token.minted':
      return [d.rotated_from ? `${who} rotated ${token}: it has a new value` : `${who} created ${token}`,
        d.expires_at ? `Expires ${formatTime(d.expires_at)}` : 'Never expires'];
    case 'token.revoked':
      if (d.reason === 'rotated') return [`${token} was replaced by a rotation: the old value no longer works`, ''];
      if (d.reason === 'user_deactivated') return [`${token} was revoked because ${subjectName(e)} ${e.user === me() ? 'were' : 'was'} deactivated`, ''];
      if (d.reason === 'leaked') return [`${token} was revoked as leaked`, ''];
      return [`${who} revoked ${token}`, d.note ? `Note: ${d.note}` : ''];
    case 'token.expired':
      return [`${token} expired`, ''];
    case 'token.expiry_shortened':
      return [`${token} now expires ${formatTime(d.expires_at_after)} under the new expiry policy`,
        d.expires_at_before ? `It would have expired ${formatTime(d.expires_at_before)}` : 'It would never have expired'];
    case 'token.used':
      return [`${token} was used${times(d.count)}`, [d.user_agent, d.ip && `from ${d.ip}`, d.last_at && `last ${formatTime(d.last_at)}`].filter(Boolean).join(', ')];
    case 'auth.denied': {
      let reason = DENY_TEXT[d.reason] || d.reason;
      if (d.reason === 'user_mismatch' && d.claimed_user) reason += ` (${quote(d.claimed_user)})`;
      return [`${token} was refused: ${reason}${times(d.count)}`, [d.user_agent, d.ip && `from ${d.ip}`].filter(Boolean).join(', ')];
    }
    case 'token.looked_up':
      return [d.found ? `${who} looked up a leaked value: it is ${token}` : `${who} looked up a value that matches no token`, ''];
    case 'policy.changed': {
      const b = d.before || {};
      const a = d.after || {};
      return [`${who} changed the expiry policy`,
        `Longest lifetime ${lifetime(b.max_lifetime_days)} → ${lifetime(a.max_lifetime_days)}; default ${lifetime(b.default_lifetime_days)} → ${lifetime(a.default_lifetime_days)}`];
    }
    case 'user.deactivated':
      return [`${who} deactivated ${subjectName(e)}`, `${plural(d.revoked_tokens || 0, 'token', 'tokens')} revoked`];
    case 'user.reactivated':
      return [`${who} reactivated ${subjectName(e)}`, ''];
    default:
      return [`${e.type}`, ''];
  }
}

function renderEvents(list, events, { withUser }) {
  list.replaceChildren();
  for (const e of events) {
    const [sentence, detail] = describe(e);
    const extra = [detail];
    if (withUser && e.user && e.user !== e.actor?.user) extra.push(`user ${e.user}`);
    list.append(el('li', { 'data-type': e.type },
      timeNode(e.time),
      el('span', { class: 'sentence' }, sentence),
      el('span', { class: 'detail' }, extra.filter(Boolean).join(' · '))));
  }
}

function renderPager(prefix, pages, nextCursor) {
  $(`${prefix}-newer`).disabled = pages.page === 0;
  $(`${prefix}-older`).disabled = !nextCursor;
  $(`${prefix}-page`).textContent = `Page ${pages.page + 1}`;
}

async function loadActivity() {
  setText('activity-error', '');
  const pages = state.activity;
  let result;
  try {
    result = await api('GET', `/v1/activity${query({ limit: 20, cursor: pages.cursors[pages.page] })}`);
  } catch (e) {
    if (e.status !== 401) setText('activity-error', `The activity could not be loaded: ${e.detail}`);
    throw e;
  }
  pages.cursors.length = pages.page + 1;
  pages.cursors.push(result.next_cursor);
  renderEvents($('activity-list'), result.events, { withUser: false });
  show($('activity-empty'), result.events.length === 0);
  renderPager('activity', pages, result.next_cursor);
}

function pageActivity(pages, delta, load) {
  pages.page = Math.max(0, pages.page + delta);
  load().catch(() => {});
}

// ---------------------------------------------------------------- admin

async function loadAdmin() {
  $('admin-tenant').textContent = state.claims.tenant;
  await Promise.all([loadPolicy(), loadAdminTokens(false)]);
  state.adminActivity = { cursors: [null], page: 0, query: adminActivityQuery() };
  await loadAdminActivity();
}

function policyText(p) {
  const max = p.max_lifetime_days === null ? 'no maximum lifetime' : `at most ${plural(p.max_lifetime_days, 'day', 'days')}`;
  const by = p.updated_by ? `, set by ${p.updated_by} on ${formatTime(p.updated_at)}` : ' (the default policy)';
  return `In force: tokens live ${max}, ${plural(p.default_lifetime_days, 'day', 'days')} unless the user chooses; ` +
    `${p.max_active_tokens} active tokens per user${by}.`;
}

async function loadPolicy() {
  const p = await api('GET', '/v1/admin/policy');
  state.policy = p;
  $('policy-current').textContent = policyText(p);
  $('policy-max').value = p.max_lifetime_days === null ? '' : String(p.max_lifetime_days);
  $('policy-no-max').checked = p.max_lifetime_days === null;
  $('policy-max').disabled = p.max_lifetime_days === null;
  $('policy-default').value = String(p.default_lifetime_days);
  resetPreview();
}

function resetPreview() {
  state.previewed = null;
  $('policy-save').disabled = true;
  show($('policy-preview-result'), false);
}

// The form as a PUT body, or a message saying what to fix.
function policyBody() {
  const noMax = $('policy-no-max').checked;
  const maxText = $('policy-max').value.trim();
  const defText = $('policy-default').value.trim();
  const isInt = (s) => /^[0-9]{1,4}$/.test(s);
  if (!noMax && !isInt(maxText)) return { error: 'Enter the longest lifetime as a whole number of days (1 to 3650), or choose No maximum.' };
  if (!isInt(defText)) return { error: 'Enter the default lifetime as a whole number of days (1 to 3650).' };
  return { body: { max_lifetime_days: noMax ? null : Number(maxText), default_lifetime_days: Number(defText) } };
}

async function previewPolicy(event) {
  event.preventDefault();
  setText('policy-error', '');
  resetPreview();
  const { body, error } = policyBody();
  if (error) {
    setText('policy-error', error);
    return;
  }
  try {
    const result = await api('POST', '/v1/admin/policy/preview', body);
    const affected = result.affected;
    const tbody = $('policy-preview-body');
    tbody.replaceChildren();
    for (const a of affected) {
      tbody.append(el('tr', {},
        el('td', {}, a.user),
        el('th', { scope: 'row' }, a.label),
        el('td', {}, timeNode(a.expires_at_before, { empty: 'Never' })),
        el('td', {}, a.expires_now ? el('strong', {}, 'Expires at once') : timeNode(a.expires_at_after))));
    }
    $('policy-preview-summary').textContent = affected.length === 0
      ? 'No existing token changes. Saving applies the policy to new tokens.'
      : `Saving shortens ${plural(affected.length, 'active token', 'active tokens')}` +
        `${affected.some((a) => a.expires_now) ? ', and some expire at once' : ''}:`;
    show($('policy-preview-table-wrap'), affected.length > 0);
    show($('policy-preview-result'), true);
    state.previewed = JSON.stringify(body);
    $('policy-save').disabled = false;
  } catch (e) {
    if (e.status !== 401) setText('policy-error', e.detail);
  }
}

async function savePolicy() {
  const { body, error } = policyBody();
  if (error || JSON.stringify(body) !== state.previewed) {
    setText('policy-error', error || 'The form changed since the preview: preview again.');
    resetPreview();
    return;
  }
  try {
    const saved = await api('PUT', '/v1/admin/policy', body);
    toast(`Policy saved: ${plural(saved.affected_tokens, 'token', 'tokens')} shortened.`);
    await loadPolicy();
    $('policy-preview-summary').textContent = '';
    await Promise.all([loadAdminTokens(false), loadAdminActivity()]);
  } catch (e) {
    if (e.status !== 401) setText('policy-error', e.detail);
  }
}

function adminTokensQuery() {
  return query({ user: $('admin-tokens-user').value.trim(), status: $('admin-tokens-status').value });
}

async function loadAdminTokens(more) {
  setText('admin-tokens-error', '');
  const t = state.adminTokens;
  if (!more) t.query = adminTokensQuery();
  const base = t.query ? `${t.query}&` : '?';
  let page;
  try {
    page = await api('GET', `/v1/admin/tokens${base}${query({ limit: 50, cursor: more ? t.cursor : null }).slice(1)}`);
  } catch (e) {
    if (e.status !== 401) setText('admin-tokens-error', e.detail);
    return;
  }
  t.cursor = page.next_cursor;
  rememberLabels(page.tokens);
  const body = $('admin-tokens-body');
  if (!more) body.replaceChildren();
  for (const tok of page.tokens) body.append(adminTokenRow(tok));
  const empty = body.children.length === 0;
  show($('admin-tokens-empty'), empty);
  show($('admin-tokens-wrap'), !empty);
  show($('admin-tokens-more'), Boolean(page.next_cursor));
}

function adminTokenRow(t) {
  const actions = el('td', { class: 'actions' });
  if (t.status === 'active') {
    actions.append(el('button', {
      type: 'button', class: 'danger', 'aria-label': `Revoke ${quote(t.label)} of ${t.user}`,
      onclick: () => confirmAdminRevoke(t),
    }, 'Revoke'));
  }
  return el('tr', { class: t.status !== 'active' ? 'inactive' : null, 'data-token-id': t.id },
    el('td', {}, t.user),
    el('th', { scope: 'row' }, el('span', { class: 'label' }, t.label), el('span', { class: 'hint' }, t.hint)),
    el('td', {}, timeNode(t.created_at, { dateOnly: true })),
    el('td', {}, expiryNode(t)),
    el('td', {}, timeNode(t.last_used_at, { empty: 'Never used' })),
    el('td', {}, statusNode(t, { owner: false })),
    actions);
}

function confirmAdminRevoke(t, after) {
  confirmDialog({
    title: `Revoke ${quote(t.label)} of ${t.user}?`,
    text: 'Apps that use this token are refused from their next request. The user sees that an admin revoked it. This cannot be undone.',
    ok: 'Revoke token',
    note: true,
    action: async (note) => {
      await api('POST', `/v1/admin/tokens/${encodeURIComponent(t.id)}/revoke`, note ? { note } : undefined);
      toast(`You revoked ${quote(t.label)} of ${t.user}.`);
      if (after) after();
      await loadAdminTokens(false);
    },
  });
}

async function lookup(event) {
  event.preventDefault();
  setText('lookup-error', '');
  const input = $('lookup-value');
  const value = input.value.trim();
  input.value = '';  // the found value stays nowhere on the page
  const result = $('lookup-result');
  result.replaceChildren();
  show(result, false);
  if (!value) {
    setText('lookup-error', 'Paste the value you found.');
    return;
  }
  try {
    const t = await api('POST', '/v1/admin/tokens/lookup', { token: value });
    state.labels.set(t.id, t.label);
    result.append(
      el('p', {}, 'This value is ', el('strong', {}, quote(t.label)), ` (${t.hint}) of `, el('strong', {}, t.user), ', ', statusNode(t, { owner: false }), '.'),
      el('p', { class: 'muted' }, `Created ${formatTime(t.created_at)}; last used ${t.last_used_at ? formatTime(t.last_used_at) : 'never'}.`));
    if (t.status === 'active') {
      result.append(el('button', {
        type: 'button', class: 'danger', 'aria-label': `Revoke ${quote(t.label)} of ${t.user}`,
        onclick: () => confirmAdminRevoke(t, () => { result.replaceChildren(); show(result, false); }),
      }, 'Revoke'));
    }
    show(result, true);
  } catch (e) {
    if (e.status === 404) setText('lookup-error', 'No token of your organisation has this value.');
    else if (e.status !== 401) setText('lookup-error', e.detail);
  }
}

function userAction(deactivate) {
  setText('user-error', '');
  $('user-result').textContent = '';
  const user = $('user-name').value.trim();
  if (!user) {
    setText('user-error', 'Enter a username.');
    return;
  }
  const path = `/v1/admin/users/${encodeURIComponent(user)}/${deactivate ? 'deactivate' : 'reactivate'}`;
  const run = async () => {
    const r = await api('POST', path);
    $('user-result').textContent = deactivate
      ? `${r.user} is deactivated: ${plural(r.revoked_tokens, 'token', 'tokens')} revoked.`
      : `${r.user} is reactivated: they can create tokens again.`;
    await loadAdminTokens(false);
  };
  if (deactivate) {
    confirmDialog({
      title: `Deactivate ${user}?`,
      text: 'All of their active tokens are revoked at once, and they cannot create or rotate tokens until you reactivate them.',
      ok: 'Deactivate user',
      action: run,
    });
  } else {
    run().catch((e) => { if (e.status !== 401) setText('user-error', e.detail); });
  }
}

function adminActivityQuery() {
  const dayStart = (value, addDays) => {
    if (!value) return '';
    const d = new Date(`${value}T00:00:00`);
    d.setDate(d.getDate() + addDays);
    return d.toISOString();
  };
  return query({
    type: $('aa-type').value,
    user: $('aa-user').value.trim(),
    token_id: $('aa-token').value.trim(),
    since: dayStart($('aa-since').value, 0),
    until: dayStart($('aa-until').value, 1),
  });
}

async function loadAdminActivity() {
  setText('aa-error', '');
  const pages = state.adminActivity;
  const base = pages.query ? `${pages.query}&` : '?';
  let result;
  try {
    result = await api('GET', `/v1/admin/activity${base}${query({ limit: 20, cursor: pages.cursors[pages.page] }).slice(1)}`);
  } catch (e) {
    if (e.status !== 401) setText('aa-error', e.detail);
    // No stale events beside the error (an unknown token id is a 404).
    renderEvents($('aa-list'), [], { withUser: true });
    show($('aa-empty'), false);
    return;
  }
  pages.cursors.length = pages.page + 1;
  pages.cursors.push(result.next_cursor);
  renderEvents($('aa-list'), result.events, { withUser: true });
  show($('aa-empty'), result.events.length === 0);
  renderPager('aa', pages, result.next_cursor);
}

// ---------------------------------------------------------------- start

function wire() {
  for (const button of document.querySelectorAll('.nav-item')) {
    button.addEventListener('click', () => openView(button.dataset.view, { focus: true }));
  }
  $('sign-out').addEventListener('click', () => signOut('You signed out. The tokens you created keep working until they expire or you revoke them.'));
  $('create-open').addEventListener('click', openCreate);
  $('create-first').addEventListener('click', openCreate);
  $('create-form').addEventListener('submit', submitCreate);
  $('create-cancel').addEventListener('click', () => $('create-dialog').close());
  $('reveal-toggle').addEventListener('click', () => { reveal.hidden = !reveal.hidden; renderSecret(); });
  $('reveal-copy').addEventListener('click', copySecret);
  // The value goes before the dialog closes: the 'close' event comes a task
  // later, and until then the value would still be in the hidden dialog.
  $('reveal-done').addEventListener('click', () => { forgetSecret(); $('reveal-dialog').close(); });
  $('reveal-dialog').addEventListener('cancel', forgetSecret);  // Escape
  $('reveal-dialog').addEventListener('close', forgetSecret);
  $('confirm-form').addEventListener('submit', submitConfirm);
  $('confirm-cancel').addEventListener('click', () => $('confirm-dialog').close());
  $('confirm-dialog').addEventListener('close', () => { confirmAction = null; });
  $('activity-newer').addEventListener('click', () => pageActivity(state.activity, -1, loadActivity));
  $('activity-older').addEventListener('click', () => pageActivity(state.activity, +1, loadActivity));
  $('aa-newer').addEventListener('click', () => pageActivity(state.adminActivity, -1, loadAdminActivity));
  $('aa-older').addEventListener('click', () => pageActivity(state.adminActivity, +1, loadAdminActivity));
  $('admin-activity-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    state.adminActivity = { cursors: [null], page: 0, query: adminActivityQuery() };
    loadAdminActivity();
  });
  $('admin-tokens-filter').addEventListener('submit', (event) => { event.preventDefault(); loadAdminTokens(false); });
  $('admin-tokens-more').addEventListener('click', () => loadAdminTokens(true));
  $('policy-form').addEventListener('submit', previewPolicy);
  $('policy-form').addEventListener('input', () => { if (state.previewed) resetPreview(); });
  $('policy-no-max').addEventListener('change', () => { $('policy-max').disabled = $('policy-no-max').checked; });
  $('policy-save').addEventListener('click', savePolicy);
  $('lookup-form').addEventListener('submit', lookup);
  $('user-form').addEventListener('submit', (event) => { event.preventDefault(); userAction(true); });
  $('user-reactivate').addEventListener('click', () => userAction(false));
  // A sign-in link opened in this tab later (only the fragment changes, so
  // no new document): its JWT replaces the session, from a fresh document.
  window.addEventListener('hashchange', () => {
    if (!new URLSearchParams(location.hash.slice(1)).has('jwt')) return;
    takeJwtFromFragment();
    location.reload();
  });
}

async function start() {
  wire();
  takeJwtFromFragment();
  const signedOut = sessionStorage.getItem(SIGNED_OUT_KEY);
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  const jwt = sessionStorage.getItem(JWT_KEY);
  const claims = jwt ? decodeClaims(jwt) : null;
  if (!jwt || !claims) {
    signOut(signedOut ?? (jwt ? 'The sign-in link was not valid.' : 'This page needs a sign-in from your organisation.'));
    return;
  }
  state.jwt = jwt;
  state.claims = claims;
  $('who-user').textContent = claims.sub;
  $('who-tenant').textContent = claims.role === 'admin' ? `${claims.tenant} · admin` : claims.tenant;
  const isAdmin = claims.role === 'admin';
  document.querySelector('.nav-item[data-view="admin"]').hidden = !isAdmin;
  if (isAdmin) {
    try { await loadPolicy(); } catch { /* shown on the Admin page */ }
  }
  if (!state.jwt) return;  // a 401 above signed out
  show($('nav'), true);
  show($('who'), true);
  await openView('tokens');
}

start();
