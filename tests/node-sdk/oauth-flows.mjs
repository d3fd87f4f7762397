// Runs the official Node SDK's OAuth helpers, unchanged, against a hilo server: the code
// exchange (`oauth.getAccessToken`), API calls with the resulting token (from the SDK's session
// storage and as a `locationAccessToken`), `oauth.refreshToken` (and the old refresh token
// refused), the SDK's own automatic refreshes (a token about to expire, a 401), then the agency
// side: a Company code, `oauth.getLocationAccessToken`, `oauth.getInstalledLocation` and the
// SDK's fallback to the Company token when a Location refresh fails.
//
// Needs HILO_BASE_URL, HILO_LOCATION_ID, HILO_COMPANY_ID (the location's agency), an app's
// HILO_OAUTH_CLIENT_ID / HILO_OAUTH_CLIENT_SECRET / HILO_OAUTH_REDIRECT_URI, and two headless
// install codes for it (`hilo admin oauth authorize … --json`): HILO_OAUTH_LOCATION_CODE
// (--location) and HILO_OAUTH_COMPANY_CODE (--agency). The app needs the scopes contacts.readonly
// contacts.write oauth.readonly oauth.write and agency distribution. serve-and-run.sh sets all of
// these. Exit code 1 on any failure.
import assert from 'node:assert/strict';
import { HighLevel, UserType } from '@gohighlevel/api-client';
import { finish, requiredEnv, step } from './harness.mjs';

const baseUrl = requiredEnv('HILO_BASE_URL').replace(/\/+$/, '');
const locationId = requiredEnv('HILO_LOCATION_ID');
const companyId = requiredEnv('HILO_COMPANY_ID');
const clientId = requiredEnv('HILO_OAUTH_CLIENT_ID');
const clientSecret = requiredEnv('HILO_OAUTH_CLIENT_SECRET');
const redirectUri = requiredEnv('HILO_OAUTH_REDIRECT_URI');
const locationCode = requiredEnv('HILO_OAUTH_LOCATION_CODE');
const companyCode = requiredEnv('HILO_OAUTH_COMPANY_CODE');
// HighLevel's client ids are `<appId>-<suffix>`; the SDK's session storage splits them the same way.
const appId = clientId.split('-')[0];

// See sdk-flows.mjs: the SDK reads this static when it builds its HTTP client.
HighLevel.BASE_URL = baseUrl;
// An OAuth app's SDK instance: client credentials and the SDK's default in-memory session storage.
const ghl = new HighLevel({ clientId, clientSecret, logLevel: 'none' });
const sessions = ghl.getSessionStorage();

// A second instance that sends one given access token (`locationAccessToken`). The SDK's README
// shows `new HighLevel({ locationAccessToken })` alone, but its constructor also insists on
// either a private integration token or the client credentials.
function withLocationToken(accessToken) {
  return new HighLevel({ clientId, clientSecret, locationAccessToken: accessToken, logLevel: 'none' });
}

function assertTokenResponse(res, userType) {
  assert.equal(typeof res?.access_token, 'string', 'access_token');
  assert.ok(res.access_token.length > 0, 'access_token is empty');
  assert.equal(res.token_type, 'Bearer');
  assert.equal(res.expires_in, 86399);
  assert.equal(typeof res.refresh_token, 'string', 'refresh_token');
  assert.ok(res.refresh_token.length > 0, 'refresh_token is empty');
  assert.equal(typeof res.scope, 'string', 'scope');
  for (const scope of ['contacts.readonly', 'contacts.write', 'oauth.readonly', 'oauth.write']) {
    assert.ok(res.scope.split(' ').includes(scope), `scope has ${scope}`);
  }
  assert.equal(res.userType, userType);
  assert.equal(res.companyId, companyId);
  assert.equal(typeof res.userId, 'string', 'userId');
  assert.ok(res.userId.length > 0, 'userId is empty');
}

async function assertInvalidGrant(promise) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.statusCode, 400, `status ${error.statusCode}: ${JSON.stringify(error.response)}`);
    assert.equal(error.response?.error, 'invalid_grant', JSON.stringify(error.response));
    return true;
  });
}

const unique = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const email = `ada.oauth.${unique}@example.com`;

let locationToken; // the last token response for the location (the session storage holds it too)
let contactId;

await step('oauth.getAccessToken exchanges a location install code (user_type Location)', async () => {
  const res = await ghl.oauth.getAccessToken({
    client_id: clientId,
    client_secret: clientSecret,
    grant_type: 'authorization_code',
    code: locationCode,
    user_type: UserType.Location,
    redirect_uri: redirectUri,
  });
  assertTokenResponse(res, UserType.Location);
  assert.equal(res.locationId, locationId);
  locationToken = res;
  await sessions.setSession(locationId, res);
});

await step('contacts.createContact with the token from the SDK session storage', async () => {
  assert.ok(locationToken, 'no token from the code exchange');
  const res = await ghl.contacts.createContact({
    locationId,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email,
    source: 'node-sdk-oauth',
  });
  assert.ok(res.contact?.id, 'contact.id');
  assert.equal(res.contact.locationId, locationId);
  assert.equal(res.contact.email, email);
  contactId = res.contact.id;
});

await step('contacts.getContact with the access token as locationAccessToken', async () => {
  assert.ok(contactId, 'no contact');
  const { contact } = await withLocationToken(locationToken.access_token).contacts.getContact({ contactId });
  assert.equal(contact.id, contactId);
  assert.equal(contact.email, email);
  assert.equal(contact.firstName, 'Ada');
  assert.equal(contact.locationId, locationId);
});

let usedRefreshToken;

await step('oauth.refreshToken returns a new token pair that works', async () => {
  assert.ok(locationToken, 'no token to refresh');
  const res = await ghl.oauth.refreshToken(
    locationToken.refresh_token, clientId, clientSecret, 'refresh_token', UserType.Location,
  );
  assertTokenResponse(res, UserType.Location);
  assert.equal(res.locationId, locationId);
  assert.notEqual(res.refresh_token, locationToken.refresh_token, 'the refresh token rotates');
  usedRefreshToken = locationToken.refresh_token;
  locationToken = res;
  await sessions.setSession(locationId, res);
  const { contact } = await withLocationToken(res.access_token).contacts.getContact({ contactId });
  assert.equal(contact.id, contactId);
});

await step('oauth.refreshToken with the old refresh token is refused (400 invalid_grant)', async () => {
  assert.ok(usedRefreshToken, 'no used refresh token');
  await assertInvalidGrant(ghl.oauth.refreshToken(
    usedRefreshToken, clientId, clientSecret, 'refresh_token', UserType.Location,
  ));
});

// getContacts names the location in its query, which is how the SDK finds the stored session.
async function findContactThroughSession() {
  const res = await ghl.contacts.getContacts({ locationId, query: email });
  assert.ok(res.contacts.some((c) => c.id === contactId), 'the contact is listed');
}

await step('the SDK refreshes a stored token about to expire before it calls', async () => {
  const before = await sessions.getSession(locationId);
  assert.ok(before?.refresh_token, 'no stored session');
  // setSession computes expire_at from expires_in; the SDK refreshes within 30 s of it.
  await sessions.setSession(locationId, { ...before, expires_in: 5 });
  await findContactThroughSession();
  const after = await sessions.getSession(locationId);
  assert.notEqual(after.refresh_token, before.refresh_token, 'the SDK stored a new refresh token');
  assert.notEqual(after.access_token, undefined);
  assert.equal(after.expires_in, 86399);
  await assertInvalidGrant(ghl.oauth.refreshToken(
    before.refresh_token, clientId, clientSecret, 'refresh_token', UserType.Location,
  ));
});

await step('the SDK refreshes on a 401 and retries the call', async () => {
  const before = await sessions.getSession(locationId);
  assert.ok(before?.refresh_token, 'no stored session');
  await sessions.setSession(locationId, { ...before, access_token: 'revoked-access-token' });
  await findContactThroughSession();
  const after = await sessions.getSession(locationId);
  assert.notEqual(after.access_token, 'revoked-access-token', 'the SDK stored a new access token');
  assert.notEqual(after.refresh_token, before.refresh_token, 'the SDK stored a new refresh token');
  locationToken = after;
});

let companyToken;

await step('oauth.getAccessToken exchanges an agency install code (user_type Company)', async () => {
  const res = await ghl.oauth.getAccessToken({
    client_id: clientId,
    client_secret: clientSecret,
    grant_type: 'authorization_code',
    code: companyCode,
    user_type: UserType.Company,
    redirect_uri: redirectUri,
  });
  assertTokenResponse(res, UserType.Company);
  assert.ok(Array.isArray(res.approvedLocations), 'approvedLocations');
  assert.ok(res.approvedLocations.includes(locationId), 'approvedLocations has the location');
  companyToken = res;
  await sessions.setSession(companyId, res);
});

await step('oauth.getLocationAccessToken turns the Company token into a Location token', async () => {
  assert.ok(companyToken, 'no Company token');
  // The SDK picks the Company token from its session storage by the body's companyId.
  const res = await ghl.oauth.getLocationAccessToken({ companyId, locationId });
  assert.equal(typeof res.access_token, 'string', 'access_token');
  assert.equal(res.token_type, 'Bearer');
  assert.equal(res.locationId, locationId);
  assert.equal(typeof res.expires_in, 'number');
  const { contact } = await withLocationToken(res.access_token).contacts.getContact({ contactId });
  assert.equal(contact.id, contactId);
  assert.equal(contact.email, email);
});

await step('oauth.getInstalledLocation lists the location with the app installed', async () => {
  assert.ok(companyToken, 'no Company token');
  const res = await ghl.oauth.getInstalledLocation({ companyId, appId, isInstalled: true });
  assert.ok(Array.isArray(res.locations), 'locations');
  const entry = res.locations.find((l) => l._id === locationId);
  assert.ok(entry, `the location is listed: ${JSON.stringify(res)}`);
  assert.equal(entry.isInstalled, true);
});

await step('the SDK falls back to the Company token when a Location refresh fails', async () => {
  assert.ok(companyToken, 'no Company token');
  const before = await sessions.getSession(locationId);
  await sessions.setSession(locationId, {
    ...before,
    userType: UserType.Location,
    companyId,
    access_token: 'revoked-access-token',
    refresh_token: 'revoked-refresh-token',
  });
  await findContactThroughSession();
  const after = await sessions.getSession(locationId);
  assert.notEqual(after.access_token, 'revoked-access-token', 'the SDK stored a location token');
});

await step('oauth.refreshToken refreshes the Company token (user_type Company)', async () => {
  assert.ok(companyToken, 'no Company token');
  const stored = await sessions.getSession(companyId);
  const res = await ghl.oauth.refreshToken(
    stored.refresh_token, clientId, clientSecret, 'refresh_token', UserType.Company,
  );
  assertTokenResponse(res, UserType.Company);
  assert.notEqual(res.refresh_token, stored.refresh_token, 'the refresh token rotates');
  await assertInvalidGrant(ghl.oauth.refreshToken(
    stored.refresh_token, clientId, clientSecret, 'refresh_token', UserType.Company,
  ));
});

finish();
