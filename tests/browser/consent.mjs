// The OAuth consent page in a real browser: headless Chromium (Debian's, driven by
// playwright-core) opens an app's install link on a running hilo, signs in as an agency user,
// picks a location, approves, and lands on the app's redirect URI (a receiver this script runs
// on loopback) with a code and the state; the code is then exchanged and the token used.
//
// Needs HILO_BASE_URL, HILO_DATABASE_URL (for `hilo admin`), HILO_BIN (the binary) and
// HILO_LOCATION_ID; run.sh sets them. CHROMIUM overrides /usr/bin/chromium; SCREENSHOTS=DIR
// keeps a PNG of each page. Prints `N passed, M failed`; exit code 1 on any failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { finish, requiredEnv, step } from '../node-sdk/harness.mjs';

const baseUrl = requiredEnv('HILO_BASE_URL').replace(/\/+$/, '');
const databaseUrl = requiredEnv('HILO_DATABASE_URL');
const hilo = requiredEnv('HILO_BIN');
const locationId = requiredEnv('HILO_LOCATION_ID');
const screenshots = process.env.SCREENSHOTS;
const email = 'browser-admin@example.com';
const password = 'a long browser password';

const admin = (...args) =>
  JSON.parse(execFileSync(hilo, ['admin', '--database', databaseUrl, '--json', ...args], { encoding: 'utf8' }));

// The app's side of the redirect: records what the browser brings.
const received = [];
const receiver = createServer((req, res) => {
  received.push(new URL(req.url, 'http://receiver'));
  res.writeHead(200, { 'Content-Type': 'text/html' }).end('<h1>App received the code</h1>');
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const redirectUri = `http://127.0.0.1:${receiver.address().port}/oauth/callback`;

const location = admin('location', 'list').find((l) => l.id === locationId);
admin('user', 'create', '--agency', location.companyId, '--email', email, '--password', password);
const app = admin('app', 'create', '--name', 'Browser Test App', '--redirect-uri', redirectUri,
  '--scopes', 'contacts.readonly contacts.write');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
const shot = async (name) => {
  if (screenshots) await page.screenshot({ path: `${screenshots}/${name}.png`, fullPage: true });
};

const link = new URL(`${baseUrl}/v2/oauth/chooselocation`);
link.search = new URLSearchParams({
  response_type: 'code', redirect_uri: redirectUri, client_id: app.clientId,
  scope: 'contacts.readonly contacts.write', state: 'browser-state',
}).toString();

let code;
await step('the install link shows the sign-in form', async () => {
  const response = await page.goto(link.toString());
  assert.equal(response.status(), 200);
  await shot('1-sign-in');
  assert.match(await page.locator('h1').innerText(), /Sign in to install Browser Test App/);
});

await step('a wrong password is refused on the page', async () => {
  await page.fill('#email', email);
  await page.fill('#password', 'not it at all');
  await page.click('button[type=submit]');
  assert.match(await page.locator('[role=alert]').innerText(), /Wrong email or password/);
});

await step('signing in shows the app, its scopes and the locations', async () => {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/v2\/oauth\/chooselocation\?/), page.click('button[type=submit]')]);
  await shot('2-consent');
  assert.equal(await page.locator('h1').innerText(), 'Install Browser Test App');
  assert.deepEqual(await page.locator('ul.scopes li').allInnerTexts(), ['contacts.readonly', 'contacts.write']);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'hilo_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(await page.locator(`input[value="location:${locationId}"]`).count(), 1);
});

await step('approving lands on the redirect URI with a code and the state', async () => {
  await page.check(`input[value="location:${locationId}"]`);
  await Promise.all([page.waitForURL((url) => url.toString().startsWith(redirectUri)),
    page.click('button[value=approve]')]);
  await shot('3-redirected');
  const landed = new URL(page.url());
  assert.equal(landed.searchParams.get('state'), 'browser-state');
  code = landed.searchParams.get('code');
  assert.ok(code, page.url());
  const callback = received.filter((u) => u.pathname === '/oauth/callback').at(-1);
  assert.equal(callback?.searchParams.get('code'), code, 'the receiver got the same code');
});

await step('the code exchanges for a token that works on the chosen location', async () => {
  const token = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: app.clientId, client_secret: app.clientSecret, grant_type: 'authorization_code',
      code, user_type: 'Location', redirect_uri: redirectUri,
    }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  assert.equal(token.status, 200, JSON.stringify(token.body));
  assert.equal(token.body.locationId, locationId);
  assert.equal(token.body.scope, 'contacts.readonly contacts.write');
  const contacts = await fetch(`${baseUrl}/contacts/?locationId=${locationId}`, {
    headers: { Authorization: `Bearer ${token.body.access_token}`, Version: '2021-07-28' },
  });
  assert.equal(contacts.status, 200);
});

await step('a link with an unregistered redirect URI shows an error page and goes nowhere', async () => {
  const bad = new URL(link);
  bad.searchParams.set('redirect_uri', 'https://attacker.example/cb');
  const response = await page.goto(bad.toString());
  await shot('4-bad-link');
  assert.equal(response.status(), 400);
  assert.equal(new URL(page.url()).origin, baseUrl);
  assert.match(await page.locator('h1').innerText(), /This install link is not valid/);
});

await step('cancelling sends access_denied to the app', async () => {
  await page.goto(link.toString());
  await Promise.all([page.waitForURL((url) => url.toString().startsWith(redirectUri)),
    page.click('button[value=deny]')]);
  const landed = new URL(page.url());
  assert.equal(landed.searchParams.get('error'), 'access_denied');
  assert.equal(landed.searchParams.get('code'), null);
});

await browser.close();
receiver.close();
finish();
