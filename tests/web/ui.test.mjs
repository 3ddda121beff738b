// End-to-end tests of the web page (issue #5) in real headless Debian
// Chromium driven by playwright-core, against a real `tokenlog serve --dev`.
//
//   node ui.test.mjs TOKENLOG_BINARY ARTIFACTS_DIR      (ctest: web.ui)
//
// The tests run in order and tell one story (alice's tokens, then the
// admin's pages): each leaves the state the next one starts from. Token
// values come only from the API's answers; a screenshot of each page goes to
// ARTIFACTS_DIR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const binary = path.resolve(process.argv[2] || process.env.TOKENLOG_BINARY || '');
const artifacts = path.resolve(process.argv[3] || process.env.WEB_ARTIFACTS || 'web-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const ALICE = 'alice@acme.example';
const BOB = 'bob@acme.example';
const CAROL = 'carol@acme.example';
const ADMIN = 'root@acme.example';
const FIRST_LABEL = 'Power BI Desktop — laptop';
const TIMEOUT = 15_000;

let work;
let server;
let base;
let context;
const consoleLines = [];  // every console message and page error of every page

// ------------------------------------------------------------ the server

function startServer(data) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['serve', '--dev', '--data', data, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not print its listening line: ${err}`)), 30_000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1] });
      }
    });
    proc.stderr.on('data', (chunk) => { err += chunk; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${err}`)); });
  });
}

function devJwt(user, { role = 'user', url = false } = {}) {
  const args = ['dev-jwt', '--data', path.join(work, 'data'), '--user', user, '--tenant', 'acme', '--ttl', '2h'];
  if (role !== 'user') args.push('--role', role);
  if (url) args.push('--url', '--server', base);
  return execFileSync(binary, args, { encoding: 'utf8' }).trim();
}

// The API directly, for setting up and for checking what the page shows.
async function api(jwt, method, urlPath, body) {
  const headers = { Authorization: `Bearer ${jwt}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function mint(jwt, label) {
  const r = await api(jwt, 'POST', '/v1/tokens', { label });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function check(user, value) {
  const res = await fetch(`${base}/v1/auth/check`, {
    headers: { Authorization: `Basic ${Buffer.from(`${user}:${value}`).toString('base64')}`, 'User-Agent': 'Microsoft.Data.Mashup' },
  });
  return res.status;
}

// ------------------------------------------------------------ the browser

async function newPage() {
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// Polls until fn() is truthy (no fixed sleeps).
async function until(what, fn, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

async function textOf(locator) { return (await locator.textContent()) ?? ''; }

async function waitForText(locator, pattern) {
  await until(`${pattern}`, async () => pattern.test(await textOf(locator)));
}

// Everything a page could still hold of a value: its DOM, its text, its
// storage and its address.
async function pageTraces(page) {
  return page.evaluate(() => {
    const storage = (s) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i))}`).join('\n');
    return [document.documentElement.outerHTML, document.body.innerText, storage(sessionStorage),
      storage(localStorage), location.href, document.title].join('\n');
  });
}

async function assertValueGone(page, value) {
  const traces = await pageTraces(page);
  assert.ok(!traces.includes(value), 'the token value is still in the page');
  assert.ok(!traces.includes(value.slice(4, 34)), 'the random part of the token value is still in the page');
  // The reveal element and the input of every dialog are empty.
  assert.equal(await textOf(page.locator('#reveal-value')), '');
  const inputs = await page.evaluate(() => Array.from(document.querySelectorAll('input')).map((i) => i.value).join('\n'));
  assert.ok(!inputs.includes(value), 'the token value is in an input');
}

async function openSignedIn(user, role = 'user') {
  const page = await newPage();
  await page.goto(devJwt(user, { role, url: true }));
  await page.locator('#tokens-title').waitFor({ state: 'visible', timeout: TIMEOUT });
  await waitForText(page.locator('#token-count'), /of 5 active tokens/);
  return page;
}

function row(page, label) {
  return page.locator('#tokens-body tr').filter({ has: page.locator('.label', { hasText: label }) });
}

// ------------------------------------------------------------ suite

before(async () => {
  assert.ok(binary && binary !== path.resolve(''), 'usage: node ui.test.mjs TOKENLOG_BINARY ARTIFACTS_DIR');
  mkdirSync(artifacts, { recursive: true });
  work = mkdtempSync(path.join(tmpdir(), 'tokenlog-web-'));
  ({ proc: server, base } = await startServer(path.join(work, 'data')));
  context = await chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
});

after(async () => {
  await context?.close();
  try {
    if (server && server.exitCode === null && server.signalCode === null) {
      // Wait for serve to stop (it flushes its data directory on the way
      // out) before removing the directory, and require a clean exit.
      const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
      server.kill('SIGTERM');
      let timer;
      const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), 15_000); });
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === 'timeout') {
        server.kill('SIGKILL');
        throw new Error('serve did not stop within 15 s of SIGTERM');
      }
      assert.equal(code, 0, 'serve exits 0 on SIGTERM');
    }
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
});

test('signed out: an explanation, not a broken page; a bad link is refused and cleared', async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  const title = page.getByRole('heading', { name: 'You are not signed in' });
  await title.waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.match(await page.locator('#view-signed-out').innerText(), /tokenlog dev-jwt/);
  assert.equal(await page.locator('#nav').isVisible(), false);
  await shot(page, 'signed-out');

  await page.goto('about:blank');  // a new document, not a same-page fragment change
  await page.goto(`${base}/#jwt=not.a.jwt`);
  await waitForText(page.locator('#signed-out-reason'), /not valid/);
  assert.equal(await page.evaluate(() => location.hash), '');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  // A well-formed JWT the server refuses (signed with another key): the 401 signs out.
  const forged = devJwt(ALICE).split('.');
  forged[2] = forged[2].split('').reverse().join('');
  await page.goto('about:blank');
  await page.goto(`${base}/#jwt=${forged.join('.')}`);
  await waitForText(page.locator('#signed-out-reason'), /no longer valid/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.close();
});

test('empty state: the link signs in, the fragment is cleared, no tokens explained', async () => {
  const page = await openSignedIn(ALICE);
  assert.equal(await page.evaluate(() => location.hash), '');
  assert.ok(await page.evaluate(() => sessionStorage.getItem('tokenlog.jwt')), 'the JWT moved to sessionStorage');
  assert.equal(await textOf(page.locator('#token-count')), '0 of 5 active tokens');
  const empty = page.locator('#tokens-empty');
  assert.ok(await empty.isVisible());
  assert.match(await empty.innerText(), /No tokens yet/);
  assert.match(await empty.innerText(), /Basic/);
  assert.ok(await page.getByRole('button', { name: 'Create your first token' }).isVisible());
  assert.equal(await page.locator('#tokens-table-wrap').isVisible(), false);
  assert.equal(await page.locator('#who-user').innerText(), ALICE);
  // Not an admin: no Admin tab.
  assert.equal(await page.getByRole('button', { name: 'Admin' }).count(), 0);
  await shot(page, 'tokens-empty');
  await page.close();
});

let firstValue;

test('create: the API\'s label message inline, then the value once: hidden, shown, copied, gone', async () => {
  const page = await openSignedIn(ALICE);
  await page.getByRole('button', { name: 'Create token', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Create token' });
  await dialog.waitFor({ state: 'visible' });

  // An invalid label: the message is the API's own detail, next to the field.
  const invalid = '   ';
  const expected = await api(devJwt(ALICE), 'POST', '/v1/tokens', { label: invalid });
  assert.equal(expected.status, 400);
  assert.equal(expected.body.type, 'invalid_label');
  await page.getByLabel('Label').fill(invalid);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const labelError = page.locator('#create-label-error');
  await labelError.waitFor({ state: 'visible' });
  assert.equal(await labelError.innerText(), expected.body.detail);
  assert.equal(await page.getByLabel('Label').getAttribute('aria-invalid'), 'true');
  assert.ok(await dialog.isVisible(), 'the dialog stays open');
  await shot(page, 'create-invalid-label');

  // A valid label: the reveal dialog, value hidden.
  await page.getByLabel('Label').fill(FIRST_LABEL);
  const minted = page.waitForResponse((r) => r.url() === `${base}/v1/tokens` && r.request().method() === 'POST');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const response = await minted;
  assert.equal(response.status(), 201);
  firstValue = (await response.json()).token;
  assert.match(firstValue, /^tlp_[0-9A-Za-z]{36}$/);
  const reveal = page.getByRole('dialog', { name: 'Copy your new token' });
  await reveal.waitFor({ state: 'visible' });
  assert.match(await reveal.innerText(), /never be shown again/);
  assert.ok(!(await pageTraces(page)).includes(firstValue), 'the value is hidden by default');
  await shot(page, 'reveal-hidden');

  // The eye button shows it.
  await reveal.getByRole('button', { name: 'Show token' }).click();
  await waitForText(page.locator('#reveal-value'), new RegExp(`^${firstValue}$`));
  assert.equal(await reveal.getByRole('button', { name: 'Hide token' }).getAttribute('aria-pressed'), 'true');
  await shot(page, 'reveal-shown');

  // Copy puts it on the clipboard.
  await page.evaluate(() => navigator.clipboard.writeText('something else'));
  await reveal.getByRole('button', { name: 'Copy' }).click();
  await waitForText(page.locator('#reveal-status'), /Copied/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), firstValue);

  // Done: back to the list, and the value is nowhere.
  await reveal.getByRole('button', { name: 'Done' }).click();
  await reveal.waitFor({ state: 'hidden' });
  await waitForText(page.locator('#token-count'), /^1 of 5 active tokens$/);
  assert.ok(await row(page, FIRST_LABEL).isVisible());
  await assertValueGone(page, firstValue);
  assert.ok(!consoleLines.some((l) => l.includes(firstValue)), 'the value was logged');
  // The value works (the page showed the real one).
  assert.equal(await check(ALICE, firstValue), 200);
  // Its first use is logged at the next usage flush (every couple of
  // seconds): wait for it, so that it is older than every event the later
  // tests append (the activity test finds it on the second page).
  await until('the first use logged', async () => {
    const { body } = await api(devJwt(ALICE), 'GET', '/v1/activity?limit=50');
    return body?.events?.some((e) => e.type === 'token.used') ?? false;
  });
  await shot(page, 'tokens-list');
  await page.close();
});

test('the cap: at 5 active tokens the button explains why and points to revoking', async () => {
  const jwt = devJwt(ALICE);
  // Labels are user data: markup in one stays text.
  await mint(jwt, '<img src=x id=injected onerror=alert(1)>');
  for (const label of ['Excel — desktop', 'Rotate me', 'Revoke me']) await mint(jwt, label);
  const page = await openSignedIn(ALICE);
  assert.equal(await textOf(page.locator('#token-count')), '5 of 5 active tokens');
  const cap = page.locator('#cap-message');
  assert.ok(await cap.isVisible());
  assert.match(await cap.innerText(), /5 active tokens.*cannot create another.*Revoke/s);
  const create = page.getByRole('button', { name: 'Create token', exact: true });
  assert.equal(await create.getAttribute('aria-disabled'), 'true');
  // Pressing it (by keyboard: a click on an aria-disabled button is what
  // Playwright refuses) opens no dialog and moves the focus to the reason.
  await create.focus();
  await page.keyboard.press('Enter');
  await until('focus on the cap message', () => page.evaluate(() => document.activeElement?.id === 'cap-message'));
  assert.equal(await page.locator('#create-dialog').isVisible(), false, 'no create dialog at the cap');
  assert.equal(await page.locator('#injected').count(), 0, 'a label was rendered as markup');
  assert.ok(await row(page, '<img src=x id=injected onerror=alert(1)>').isVisible());
  await shot(page, 'tokens-cap');
  await page.close();
});

test('revoke: a confirmation naming the label, then the token is revoked', async () => {
  const page = await openSignedIn(ALICE);
  await page.getByRole('button', { name: 'Revoke “Revoke me”', exact: true }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke “Revoke me”?' });
  await confirm.waitFor({ state: 'visible' });
  await shot(page, 'revoke-confirm');
  await confirm.getByRole('button', { name: 'Revoke token' }).click();
  await confirm.waitFor({ state: 'hidden' });
  await waitForText(page.locator('#token-count'), /^4 of 5 active tokens$/);
  await waitForText(row(page, 'Revoke me'), /Revoked/);
  assert.equal(await page.getByRole('button', { name: 'Revoke “Revoke me”', exact: true }).count(), 0);
  assert.equal(await page.locator('#cap-message').isVisible(), false);
  const list = await api(devJwt(ALICE), 'GET', '/v1/tokens');
  const revoked = list.body.tokens.find((t) => t.label === 'Revoke me');
  assert.equal(revoked.status, 'revoked');
  assert.equal(revoked.revoked_reason, 'user');
  await page.close();
});

test('rotate: a new value shown once, the old one revoked', async () => {
  const page = await openSignedIn(ALICE);
  const before = (await api(devJwt(ALICE), 'GET', '/v1/tokens')).body.tokens.find((t) => t.label === 'Rotate me');
  await page.getByRole('button', { name: 'Rotate “Rotate me”', exact: true }).click();
  const confirm = page.getByRole('dialog', { name: 'Rotate “Rotate me”?' });
  await confirm.waitFor({ state: 'visible' });
  const rotated = page.waitForResponse((r) => r.url().endsWith(`/v1/tokens/${before.id}/rotate`));
  await confirm.getByRole('button', { name: 'Rotate token' }).click();
  const response = await rotated;
  assert.equal(response.status(), 201);
  const value = (await response.json()).token;
  const reveal = page.getByRole('dialog', { name: 'Copy the new value' });
  await reveal.waitFor({ state: 'visible' });
  assert.ok(!(await pageTraces(page)).includes(value), 'hidden by default');
  await reveal.getByRole('button', { name: 'Show token' }).click();
  assert.equal(await textOf(page.locator('#reveal-value')), value);
  // Escape closes it too, and forgets the value the same way.
  await page.keyboard.press('Escape');
  await reveal.waitFor({ state: 'hidden' });
  await assertValueGone(page, value);
  await waitForText(page.locator('#tokens-body'), /rotated/);
  const rows = row(page, 'Rotate me');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).innerText(), /Active/);
  assert.match(await rows.nth(1).innerText(), /Revoked/);
  assert.equal(await check(ALICE, value), 200);
  await page.close();
});

test('activity: readable events, newest first, with paging', async () => {
  const jwt = devJwt(ALICE);
  // A refused use of the revoked token and a use of the first one.
  const revokeMe = await mint(jwt, 'Short-lived');
  await api(jwt, 'POST', `/v1/tokens/${revokeMe.id}/revoke`);
  assert.equal(await check(ALICE, revokeMe.token), 401);
  assert.equal(await check(ALICE, firstValue), 200);
  // Enough events for a second page (20 a page).
  for (let i = 0; i < 8; i++) {
    const t = await mint(jwt, `Batch ${i}`);
    await api(jwt, 'POST', `/v1/tokens/${t.id}/revoke`);
  }
  const page = await openSignedIn(ALICE);
  await page.getByRole('button', { name: 'Activity' }).click();
  const list = page.locator('#activity-list');
  // token.used and auth.denied are flushed within a few seconds.
  await until('the refused and used events', async () => {
    await page.getByRole('button', { name: 'Activity' }).click();
    const text = await list.innerText().catch(() => '');
    return /“Short-lived” was refused: token revoked/.test(text);
  }, 30_000);
  const text = await list.innerText();
  assert.match(text, /You revoked “Batch 7”/);
  assert.match(text, /You created “Batch 7”/);
  // Newest first.
  assert.ok(text.indexOf('You revoked “Batch 7”') < text.indexOf('You created “Batch 7”'));
  assert.equal(await page.locator('#activity-newer').isDisabled(), true);
  await shot(page, 'activity');

  await page.getByRole('button', { name: 'Older' }).click();
  await waitForText(page.locator('#activity-page'), /Page 2/);
  const older = await list.innerText();
  assert.match(older, new RegExp(`You created “${FIRST_LABEL}”`));
  assert.match(older, new RegExp(`“${FIRST_LABEL}” was used`));
  assert.match(older, /You revoked “Revoke me”/);
  assert.match(older, /“Rotate me” was replaced by a rotation/);
  assert.doesNotMatch(older, /Batch 7/);
  await shot(page, 'activity-page-2');
  await page.getByRole('button', { name: 'Newer' }).click();
  await waitForText(page.locator('#activity-page'), /Page 1/);
  assert.match(await list.innerText(), /Batch 7/);
  await page.close();
});

test('admin: policy preview then save, tenant tokens, leaked value, deactivation, activity', async () => {
  const bobToken = await mint(devJwt(BOB), 'Bob — Power BI service');
  await mint(devJwt(CAROL), 'Carol — laptop');
  const adminJwt = devJwt(ADMIN, { role: 'admin' });
  const page = await openSignedIn(ADMIN, 'admin');
  await page.getByRole('button', { name: 'Admin' }).click();
  await page.locator('#admin-title').waitFor({ state: 'visible' });
  await waitForText(page.locator('#policy-current'), /at most 365 days/);
  await waitForText(page.locator('#admin-tokens-body'), /Bob — Power BI service/);
  const save = page.getByRole('button', { name: 'Save policy' });
  assert.equal(await save.isDisabled(), true, 'no save before a preview');

  // Preview: what the API's dry run says, and nothing changes yet.
  const proposal = { max_lifetime_days: 30, default_lifetime_days: 7 };
  const head = (await api(adminJwt, 'GET', '/v1/admin/activity?limit=1')).body.events[0].seq;
  const dryRun = await api(adminJwt, 'POST', '/v1/admin/policy/preview', proposal);
  assert.ok(dryRun.body.affected.length >= 5, 'the active tokens created with 90 days are affected');
  await page.getByLabel('Longest lifetime (days)').fill('30');
  await page.getByLabel('Default lifetime (days)').fill('7');
  await page.getByRole('button', { name: 'Preview changes' }).click();
  await waitForText(page.locator('#policy-preview-summary'), /shortens/);
  assert.equal(await page.locator('#policy-preview-body tr').count(), dryRun.body.affected.length);
  assert.match(await page.locator('#policy-preview-body').innerText(), /Bob — Power BI service/);
  assert.equal((await api(adminJwt, 'GET', '/v1/admin/policy')).body.version, 0, 'the preview saved nothing');
  assert.equal((await api(adminJwt, 'GET', '/v1/admin/activity?limit=1')).body.events[0].seq, head);
  await shot(page, 'admin-policy-preview');

  // Editing after the preview asks for a new preview.
  await page.getByLabel('Default lifetime (days)').fill('8');
  assert.equal(await save.isDisabled(), true);
  await page.getByLabel('Default lifetime (days)').fill('7');
  await page.getByRole('button', { name: 'Preview changes' }).click();
  await until('save enabled', async () => !(await save.isDisabled()));
  await save.click();
  await waitForText(page.locator('#policy-current'), /at most 30 days, 7 days/);
  const policy = (await api(adminJwt, 'GET', '/v1/admin/policy')).body;
  assert.equal(policy.max_lifetime_days, 30);
  assert.equal(policy.default_lifetime_days, 7);
  assert.equal(policy.updated_by, ADMIN);

  // A leaked value: whose it is, then revoke it; the value leaves the page.
  await page.getByLabel('Token value').fill(bobToken.token);
  await page.getByRole('button', { name: 'Look up' }).click();
  const result = page.locator('#lookup-result');
  await waitForText(result, /Bob — Power BI service/);
  assert.match(await result.innerText(), new RegExp(BOB));
  assert.equal(await page.getByLabel('Token value').inputValue(), '');
  await result.getByRole('button', { name: 'Revoke' }).click();
  const confirm = page.getByRole('dialog', { name: `Revoke “Bob — Power BI service” of ${BOB}?` });
  await confirm.waitFor({ state: 'visible' });
  await page.getByLabel('Note for the log (optional)').fill('found in a public repository');
  await confirm.getByRole('button', { name: 'Revoke token' }).click();
  await confirm.waitFor({ state: 'hidden' });
  await assertValueGone(page, bobToken.token);
  assert.equal(await check(BOB, bobToken.token), 401);

  // Deactivate a user (with a confirmation naming them).
  await page.getByLabel('Username').fill(CAROL);
  await page.getByRole('button', { name: 'Deactivate user' }).click();
  const deact = page.getByRole('dialog', { name: `Deactivate ${CAROL}?` });
  await deact.waitFor({ state: 'visible' });
  await deact.getByRole('button', { name: 'Deactivate user' }).click();
  await waitForText(page.locator('#user-result'), /is deactivated: 1 token revoked/);

  // The tenant's activity, filtered by type.
  await page.getByRole('button', { name: 'Show activity' }).click();
  await waitForText(page.locator('#aa-list'), /deactivated carol@acme\.example/);
  await page.getByLabel('Event').selectOption('policy.changed');
  await page.getByRole('button', { name: 'Show activity' }).click();
  await until('only policy events', async () => (await page.locator('#aa-list li').count()) === 1);
  assert.match(await page.locator('#aa-list').innerText(), /You changed the expiry policy.*365 days → 30 days/s);
  await page.getByLabel('Event').selectOption('');
  await page.getByRole('button', { name: 'Show activity' }).click();
  await waitForText(page.locator('#aa-list'), /looked up a leaked value: it is “Bob — Power BI service”/);
  await shot(page, 'admin');

  // Sign out: nothing of the session stays in the page, hidden or not.
  const adminData = await page.evaluate(() => document.documentElement.textContent);
  assert.ok(adminData.includes('Carol — laptop') && adminData.includes(BOB), 'admin data was shown');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await waitForText(page.locator('#signed-out-reason'), /You signed out/);
  const after = await page.evaluate(() => document.documentElement.textContent);
  assert.ok(!after.includes('Carol — laptop'), 'a label stayed in the page after sign out');
  assert.ok(!after.includes(BOB), 'a username stayed in the page after sign out');
  assert.ok(!after.includes(ADMIN), 'the admin\'s name stayed in the page after sign out');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.close();
});

test('a 401 right after a mint keeps the new value on screen until it is dismissed', async () => {
  const user = 'erin@acme.example';
  const page = await openSignedIn(user);
  // The sign-in expires between the mint and the list reload that follows
  // it: the server answers the mint, the reload gets a 401.
  let refused = 0;
  await page.route(`${base}/v1/tokens`, (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    refused += 1;
    return route.fulfill({ status: 401, contentType: 'application/problem+json',
      body: '{"type":"unauthenticated","title":"Unauthenticated","status":401,"detail":"expired"}' });
  });
  await page.getByRole('button', { name: 'Create token', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Create token' });
  await page.getByLabel('Label').fill('Expiring sign-in');
  const minted = page.waitForResponse((r) => r.url() === `${base}/v1/tokens` && r.request().method() === 'POST');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const value = (await (await minted).json()).token;
  const reveal = page.getByRole('dialog', { name: 'Copy your new token' });
  await reveal.waitFor({ state: 'visible' });
  await until('the reload refused', async () => refused > 0);
  // Still there, and the real value: shown, copied, working.
  assert.ok(await reveal.isVisible(), 'the 401 closed the one-time dialog');
  await reveal.getByRole('button', { name: 'Show token' }).click();
  await waitForText(page.locator('#reveal-value'), new RegExp(`^${value}$`));
  await reveal.getByRole('button', { name: 'Copy' }).click();
  await waitForText(page.locator('#reveal-status'), /Copied/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
  assert.equal(await check(user, value), 200);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tokenlog.jwt')), null, 'the JWT is forgotten at once');
  // Done: now the page signs out, and the value is gone.
  await reveal.getByRole('button', { name: 'Done' }).click();
  await waitForText(page.locator('#signed-out-reason'), /no longer valid/);
  await assertValueGone(page, value);
  await page.unroute(`${base}/v1/tokens`);
  await page.close();
});

test('a second sign-in link in the same tab replaces the session and leaves the address bar', async () => {
  const page = await openSignedIn(ALICE);
  await page.goto(devJwt(BOB, { url: true }));  // only the fragment changes: no new document
  await waitForText(page.locator('#who-user'), new RegExp(BOB));
  await waitForText(page.locator('#token-count'), /of 5 active tokens/);
  assert.equal(await page.evaluate(() => location.hash), '');
  const stored = await page.evaluate(() => sessionStorage.getItem('tokenlog.jwt'));
  const claims = JSON.parse(Buffer.from(stored.split('.')[1], 'base64url').toString());
  assert.equal(claims.sub, BOB, 'the session is the second link\'s');
  await page.close();
});

test('no page logged an error, a CSP violation or a token value', () => {
  // Chromium logs every 4xx answer as "Failed to load resource": the tests
  // cause a 400 (the invalid label) and a 401 (the forged JWT) on purpose;
  // any other (a 404 would be a broken link) fails.
  const expected = /Failed to load resource: the server responded with a status of (400|401)/;
  const bad = consoleLines.filter((l) => (/^(error|pageerror)/.test(l) && !expected.test(l)) ||
    /Content.Security.Policy/i.test(l) || /tlp_[0-9A-Za-z]{36}/.test(l));
  assert.deepEqual(bad, []);
  assert.ok(consoleLines.filter((l) => expected.test(l)).length >= 2, 'the expected 400 and 401 were seen');
});
