// Receives hilo's webhook deliveries in a local HTTP server and checks them with the official
// Node SDK's own webhook helper: `ghl.webhooks.subscribe()` (the Express middleware, which
// verifies `x-ghl-signature` with Ed25519 and the app id) given hilo's published public key, and
// the legacy `verifySignature` (RSA-SHA256, `x-wh-signature`) with hilo's RSA key; both over the
// raw body and over `JSON.stringify(req.body)`, as receivers without a raw body do.
//
// Needs HILO_BASE_URL, HILO_TOKEN, HILO_LOCATION_ID, HILO_WEBHOOK_PORT (where to listen) and
// HILO_WEBHOOK_CLIENT_ID: an app installed on the location with the scope contacts.readonly and
// the webhook URL http://127.0.0.1:$HILO_WEBHOOK_PORT/hook. serve-and-run.sh sets all of these.
import assert from 'node:assert/strict';
import http from 'node:http';
import { HighLevel } from '@gohighlevel/api-client';
import { finish, requiredEnv, step } from './harness.mjs';

const baseUrl = requiredEnv('HILO_BASE_URL').replace(/\/+$/, '');
const token = requiredEnv('HILO_TOKEN');
const locationId = requiredEnv('HILO_LOCATION_ID');
const port = Number(requiredEnv('HILO_WEBHOOK_PORT'));
const clientId = requiredEnv('HILO_WEBHOOK_CLIENT_ID');

HighLevel.BASE_URL = baseUrl;

// Every delivery: its headers and the exact bytes received.
const received = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

async function waitFor(type) {
  for (let i = 0; i < 300; i++) {
    const found = received.find((r) => JSON.parse(r.raw.toString('utf8')).type === type);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${type} webhook arrived; got ${received.map((r) => r.raw.toString()).join(', ')}`);
}

const keys = await (await fetch(`${baseUrl}/hilo/webhooks/keys`)).json();
const ghl = new HighLevel({
  privateIntegrationToken: token,
  clientId,
  webhookPublicKey: keys.ed25519.publicKeyPem,
  logLevel: 'none',
});

// The SDK's middleware run on a delivery as Express would hand it over (`req.body` parsed).
async function subscribe(delivery, { rawBody }) {
  const req = { method: 'POST', url: '/hook', headers: delivery.headers, body: JSON.parse(delivery.raw) };
  if (rawBody) req.rawBody = delivery.raw;
  let error;
  await ghl.webhooks.subscribe()(req, {}, (e) => { error = e; });
  assert.equal(error, undefined);
  return req;
}

let contactId;
await step('a contact created through the SDK is delivered as ContactCreate', async () => {
  const res = await ghl.contacts.createContact({ locationId, firstName: 'Webhook', lastName: 'Receiver' });
  contactId = res.contact.id;
  const delivery = await waitFor('ContactCreate');
  const body = JSON.parse(delivery.raw);
  assert.equal(body.id, contactId);
  assert.equal(body.locationId, locationId);
  assert.equal(body.appId, clientId.split('-')[0]);
  assert.equal(typeof body.webhookId, 'string');
  assert.equal(typeof body.timestamp, 'string');
});

for (const type of ['INSTALL', 'ContactCreate']) {
  await step(`the SDK's webhook middleware accepts hilo's ${type} (raw body and re-serialised body)`, async () => {
    const delivery = await waitFor(type);
    for (const rawBody of [true, false]) {
      const req = await subscribe(delivery, { rawBody });
      assert.equal(req.skippedSignatureVerification, false);
      assert.equal(req.isSignatureValid, true, `isSignatureValid (rawBody: ${rawBody})`);
    }
  });

  await step(`the SDK's legacy RSA check accepts hilo's x-wh-signature on ${type}`, async () => {
    const delivery = await waitFor(type);
    const payload = JSON.stringify(JSON.parse(delivery.raw));
    assert.equal(ghl.webhooks.verifySignature(payload, delivery.headers['x-wh-signature'], keys.rsa.publicKeyPem), true);
  });
}

await step('a tampered body fails the SDK\'s check', async () => {
  const delivery = await waitFor('ContactCreate');
  const tampered = { ...delivery, raw: Buffer.from(delivery.raw.toString('utf8').replace('Webhook', 'Tampered')) };
  const req = await subscribe(tampered, { rawBody: true });
  assert.equal(req.isSignatureValid, false);
});

server.close();
finish();
