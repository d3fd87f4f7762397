// Runs the official Node SDK's advanced contact operations, unchanged, against a hilo server and
// checks the answers field by field: `contacts.searchContactsAdvanced` (filters, a dateAdded
// range, sort, pageLimit, searchAfter), `getDuplicateContact` (by email, by number, both, none),
// `upsertContact` (create, then update by the same email; the location's identifier priority),
// `addFollowersContact`, `addContactToCampaign` and `addContactToWorkflow` (then found by
// searching `followers` / `activeWorkflows`). The HTTP status of each answer is checked against
// the spec (recorded by a response interceptor on the SDK's own HTTP client).
//
// Needs HILO_BASE_URL, HILO_TOKEN (contacts.readonly contacts.write) and HILO_LOCATION_ID (a
// location that forbids duplicates and identifies contacts by email, then phone: the demo one),
// HILO_FOLLOWER_USER_IDS (two users of that location, comma-separated: `hilo admin user create
// --location …`), HILO_CAMPAIGN_ID and HILO_WORKFLOW_ID (published, in that location: `hilo admin
// campaign create` / `hilo admin workflow create`), and HILO_PHONE_FIRST_LOCATION_ID with its
// token HILO_PHONE_FIRST_TOKEN (a second location set to `--contact-unique-identifiers
// phone,email`). serve-and-run.sh sets all of these. Exit code 1 on any failure.
import assert from 'node:assert/strict';
import { HighLevel } from '@gohighlevel/api-client';
import { finish, requiredEnv, step } from './harness.mjs';

const baseUrl = requiredEnv('HILO_BASE_URL').replace(/\/+$/, '');
const token = requiredEnv('HILO_TOKEN');
const locationId = requiredEnv('HILO_LOCATION_ID');
const followerIds = requiredEnv('HILO_FOLLOWER_USER_IDS').split(',').map((s) => s.trim()).filter(Boolean);
const campaignId = requiredEnv('HILO_CAMPAIGN_ID');
const workflowId = requiredEnv('HILO_WORKFLOW_ID');
const phoneFirstLocationId = requiredEnv('HILO_PHONE_FIRST_LOCATION_ID');
const phoneFirstToken = requiredEnv('HILO_PHONE_FIRST_TOKEN');
if (followerIds.length !== 2) {
  console.error('HILO_FOLLOWER_USER_IDS must name two user ids');
  process.exit(2);
}

// See sdk-flows.mjs: the SDK reads this static when it builds its HTTP client.
HighLevel.BASE_URL = baseUrl;

// The status of the last answer, per SDK instance (the SDK's methods return only the body).
function withStatusProbe(ghl) {
  const probe = { status: undefined };
  ghl.getHttpClient().interceptors.response.use((response) => {
    probe.status = response.status;
    return response;
  });
  return { ghl, probe };
}

const { ghl, probe } = withStatusProbe(new HighLevel({ privateIntegrationToken: token, logLevel: 'none' }));
const { ghl: phoneFirst, probe: phoneFirstProbe } = withStatusProbe(
  new HighLevel({ privateIntegrationToken: phoneFirstToken, logLevel: 'none' }),
);

const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const unique = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const tag = `adv-${unique}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Phone numbers unique to this run (the location forbids duplicates, and a server may be reused):
// phone(i) is sent formatted, e164(i) is how hilo stores and answers it.
const exchange = 200 + Math.floor(Math.random() * 800);
const line = 1000 + Math.floor(Math.random() * 8900);
const phone = (i) => `+1 415 ${exchange} ${line + i}`;
const e164 = (i) => `+1415${exchange}${line + i}`;

function assertTraceId(res) {
  assert.equal(typeof res.traceId, 'string', 'traceId');
  assert.ok(res.traceId.length > 0, 'traceId is empty');
}

// The three contacts the search runs over (all tagged `tag`), created a few ms apart so that
// their dateAdded differ, plus one without the tag that no search below may return.
const people = [
  {
    firstName: 'Ada', lastName: 'Lovelace', email: `ada.${unique}@example.com`, phone: phone(1),
    tags: [tag, 'Founder'], city: 'London', address1: '12 St James Square', postalCode: 'SW1Y 4JH',
    companyName: 'Analytical Engines', source: 'node-sdk-advanced', website: 'https://ada.example.com',
  },
  {
    firstName: 'Charles', lastName: 'Babbage', email: `charles.${unique}@example.com`, phone: phone(2),
    tags: [tag], city: 'London', source: 'node-sdk-advanced',
  },
  {
    firstName: 'Mary', lastName: 'Somerville', email: `mary.${unique}@example.com`, phone: phone(3),
    tags: [tag], city: 'Jedburgh', source: 'node-sdk-advanced',
  },
];
const created = []; // the createContact answers' contacts, in creation order
let outsider;

await step('createContact: three tagged contacts and one without the tag', async () => {
  for (const person of people) {
    const res = await ghl.contacts.createContact({ locationId, ...person });
    assert.ok(res.contact?.id, 'contact.id');
    assert.match(res.contact.dateAdded, isoMillis);
    created.push(res.contact);
    await sleep(5);
  }
  for (let i = 1; i < created.length; i++) {
    assert.ok(Date.parse(created[i].dateAdded) > Date.parse(created[i - 1].dateAdded),
      `dateAdded increases: ${created.map((c) => c.dateAdded)}`);
  }
  const res = await ghl.contacts.createContact({
    locationId, firstName: 'Outsider', email: `outsider.${unique}@example.com`, phone: phone(4),
    tags: ['not-' + tag],
  });
  outsider = res.contact;
  assert.ok(outsider?.id, 'contact.id');
});

const ids = () => created.map((c) => c.id);
const byTag = { field: 'tags', operator: 'eq', value: tag };

function search(body) {
  return ghl.contacts.searchContactsAdvanced({ locationId, ...body });
}

async function searchIds(filters, extra = {}) {
  const res = await search({ pageLimit: 100, filters, ...extra });
  assert.equal(probe.status, 200);
  return res;
}

await step('searchContactsAdvanced: tags eq + dateAdded range, sorted asc, page 1 of 2 (pageLimit 2)', async () => {
  assert.equal(created.length, 3, 'the contacts were not created');
  const res = await search({
    pageLimit: 2,
    filters: [byTag, {
      field: 'dateAdded', operator: 'range',
      value: { gte: created[0].dateAdded, lte: created[2].dateAdded },
    }],
    sort: [{ field: 'dateAdded', direction: 'asc' }],
  });
  assert.equal(probe.status, 200, 'status (spec: 200)');
  assertTraceId(res);
  assert.equal(res.total, 3, 'total counts every match');
  assert.deepEqual(res.contacts.map((c) => c.id), ids().slice(0, 2));

  // Ada's row, field by field (search rows: lower-cased names, the originals in …Raw, `address`).
  const row = res.contacts[0];
  const ada = created[0];
  assert.equal(row.id, ada.id);
  assert.equal(row.locationId, locationId);
  assert.equal(row.contactName, 'ada lovelace');
  assert.equal(row.firstName, 'ada');
  assert.equal(row.lastName, 'lovelace');
  assert.equal(row.firstNameRaw, 'Ada');
  assert.equal(row.lastNameRaw, 'Lovelace');
  assert.equal(row.firstNameLowerCase, 'ada');
  assert.equal(row.lastNameLowerCase, 'lovelace');
  assert.equal(row.email, people[0].email);
  assert.equal(row.phone, e164(1));
  assert.equal(row.city, 'London');
  assert.equal(row.address, '12 St James Square');
  assert.equal(row.postalCode, 'SW1Y 4JH');
  assert.equal(row.companyName, 'Analytical Engines');
  assert.equal(row.source, 'node-sdk-advanced');
  assert.equal(row.website, 'https://ada.example.com');
  assert.equal(row.type, 'lead');
  assert.equal(row.dnd, false);
  assert.deepEqual([...row.tags].sort(), [tag, 'founder'].sort());
  assert.deepEqual(row.followers, []);
  assert.equal(row.dateAdded, ada.dateAdded);
  assert.match(row.dateUpdated, isoMillis);
  assert.deepEqual(row.searchAfter, [Date.parse(ada.dateAdded), ada.id]);

  const second = res.contacts[1];
  assert.equal(second.contactName, 'charles babbage');
  assert.equal(second.firstNameRaw, 'Charles');
  assert.equal(second.email, people[1].email);
  assert.equal(second.phone, e164(2));
  assert.deepEqual(second.tags, [tag]);
  assert.deepEqual(second.searchAfter, [Date.parse(created[1].dateAdded), created[1].id]);
});

await step('searchContactsAdvanced: searchAfter gives the next page, then an empty one', async () => {
  const body = {
    pageLimit: 2,
    filters: [byTag, {
      field: 'dateAdded', operator: 'range',
      value: { gte: created[0].dateAdded, lte: created[2].dateAdded },
    }],
    sort: [{ field: 'dateAdded', direction: 'asc' }],
  };
  const first = await search(body);
  const page2 = await search({ ...body, searchAfter: first.contacts.at(-1).searchAfter });
  assert.equal(probe.status, 200);
  assert.equal(page2.total, 3, 'total is the same on every page');
  assert.deepEqual(page2.contacts.map((c) => c.id), [created[2].id]);
  const mary = page2.contacts[0];
  assert.equal(mary.contactName, 'mary somerville');
  assert.equal(mary.lastNameRaw, 'Somerville');
  assert.equal(mary.city, 'Jedburgh');
  assert.equal(mary.email, people[2].email);
  assert.equal(mary.phone, e164(3));
  assert.deepEqual(mary.searchAfter, [Date.parse(created[2].dateAdded), created[2].id]);
  const page3 = await search({ ...body, searchAfter: mary.searchAfter });
  assert.deepEqual(page3.contacts, []);
  assert.equal(page3.total, 3);
});

await step('searchContactsAdvanced: sort dateAdded desc, and the default sort (dateAdded desc)', async () => {
  const desc = await searchIds([byTag], { sort: [{ field: 'dateAdded', direction: 'desc' }] });
  assert.deepEqual(desc.contacts.map((c) => c.id), [...ids()].reverse());
  assert.equal(desc.total, 3);
  const byDefault = await searchIds([byTag]);
  assert.deepEqual(byDefault.contacts.map((c) => c.id), [...ids()].reverse());
  const byName = await searchIds([byTag], { sort: [{ field: 'firstNameLowerCase', direction: 'asc' }] });
  assert.deepEqual(byName.contacts.map((c) => c.firstNameRaw), ['Ada', 'Charles', 'Mary']);
});

await step('searchContactsAdvanced: range bounds gt / lt exclude the bound, other filters combine', async () => {
  const after = await searchIds([byTag, { field: 'dateAdded', operator: 'range', value: { gt: created[0].dateAdded } }],
    { sort: [{ field: 'dateAdded', direction: 'asc' }] });
  assert.deepEqual(after.contacts.map((c) => c.id), ids().slice(1));
  assert.equal(after.total, 2);
  const before = await searchIds([byTag, { field: 'dateAdded', operator: 'range', value: { lt: created[0].dateAdded } }]);
  assert.deepEqual(before.contacts, []);
  assert.equal(before.total, 0);
  const london = await searchIds([byTag, { field: 'city', operator: 'eq', value: 'london' }],
    { sort: [{ field: 'dateAdded', direction: 'asc' }] });
  assert.deepEqual(london.contacts.map((c) => c.id), ids().slice(0, 2));
  const orGroup = await searchIds([byTag, {
    group: 'OR',
    filters: [
      { field: 'firstNameLowerCase', operator: 'eq', value: 'mary' },
      { field: 'tags', operator: 'eq', value: 'founder' },
    ],
  }], { sort: [{ field: 'dateAdded', direction: 'asc' }] });
  assert.deepEqual(orGroup.contacts.map((c) => c.id), [created[0].id, created[2].id]);
  const count = await search({ pageLimit: 1, filters: [byTag] });
  assert.equal(count.total, 3, 'pageLimit 1 still counts every match');
  assert.equal(count.contacts.length, 1);
});

await step('getDuplicateContact by email finds that contact', async () => {
  const res = await ghl.contacts.getDuplicateContact({ locationId, email: people[0].email });
  assert.equal(probe.status, 200, 'status (spec: 200)');
  assertTraceId(res);
  const c = res.contact;
  assert.equal(c?.id, created[0].id, JSON.stringify(res));
  assert.equal(c.locationId, locationId);
  assert.equal(c.firstName, 'Ada');
  assert.equal(c.lastName, 'Lovelace');
  assert.equal(c.email, people[0].email);
  assert.equal(c.phone, e164(1));
  assert.equal(c.dateAdded, created[0].dateAdded);
});

await step('getDuplicateContact by number (E.164) finds that contact', async () => {
  const res = await ghl.contacts.getDuplicateContact({ locationId, number: e164(2) });
  assert.equal(probe.status, 200);
  const c = res.contact;
  assert.equal(c?.id, created[1].id, JSON.stringify(res));
  assert.equal(c.firstName, 'Charles');
  assert.equal(c.email, people[1].email);
  assert.equal(c.phone, e164(2));
});

await step('getDuplicateContact with email and number of two contacts: email first (the location\'s order)', async () => {
  const res = await ghl.contacts.getDuplicateContact({ locationId, email: people[0].email, number: e164(2) });
  assert.equal(res.contact?.id, created[0].id, JSON.stringify(res));
});

await step('getDuplicateContact with no match answers contact: null', async () => {
  const byEmail = await ghl.contacts.getDuplicateContact({ locationId, email: `nobody.${unique}@example.com` });
  assert.equal(probe.status, 200);
  assert.equal(byEmail.contact, null);
  assertTraceId(byEmail);
  const byNumber = await ghl.contacts.getDuplicateContact({ locationId, number: e164(99) });
  assert.equal(byNumber.contact, null);
});

const upsertEmail = `grace.${unique}@example.com`;
let upsertedId;

await step('upsertContact with a new email creates the contact (new: true)', async () => {
  const res = await ghl.contacts.upsertContact({
    locationId, email: upsertEmail, firstName: 'Grace', lastName: 'Hopper', city: 'Arlington',
    tags: ['Navy'], source: 'node-sdk-advanced',
  });
  assert.equal(probe.status, 200, 'status (spec: 200)');
  assertTraceId(res);
  assert.equal(res.new, true);
  const c = res.contact;
  assert.ok(c?.id, 'contact.id');
  upsertedId = c.id;
  assert.equal(c.locationId, locationId);
  assert.equal(c.email, upsertEmail);
  assert.equal(c.firstName, 'Grace');
  assert.equal(c.lastName, 'Hopper');
  assert.equal(c.city, 'Arlington');
  assert.deepEqual(c.tags, ['navy']);
  assert.equal(c.source, 'node-sdk-advanced');
  assert.match(c.dateAdded, isoMillis);
});

await step('upsertContact with the same email updates it (new: false, same id, change applied)', async () => {
  assert.ok(upsertedId, 'no upserted contact');
  const res = await ghl.contacts.upsertContact({
    locationId, email: upsertEmail, firstName: 'Rear Admiral Grace', phone: phone(5),
  });
  assert.equal(probe.status, 200);
  assertTraceId(res);
  assert.equal(res.new, false);
  const c = res.contact;
  assert.equal(c.id, upsertedId);
  assert.equal(c.firstName, 'Rear Admiral Grace');
  assert.equal(c.phone, e164(5));
  assert.equal(c.lastName, 'Hopper', 'fields not sent are kept');
  assert.equal(c.city, 'Arlington');
  assert.equal(c.email, upsertEmail);
  const { contact: again } = await ghl.contacts.getContact({ contactId: upsertedId });
  assert.equal(again.firstName, 'Rear Admiral Grace');
  assert.equal(again.phone, e164(5));
  assert.equal(again.lastName, 'Hopper');
  const dup = await ghl.contacts.getDuplicateContact({ locationId, email: upsertEmail });
  assert.equal(dup.contact?.id, upsertedId);
});

await step('upsertContact matching one contact by email and another by phone updates the email one only', async () => {
  // Email, then phone (the location's order): Ada is updated, Charles's phone is not copied to her.
  const res = await ghl.contacts.upsertContact({
    locationId, email: people[0].email, phone: phone(2), state: 'Middlesex',
  });
  assert.equal(res.new, false);
  assert.equal(res.contact.id, created[0].id);
  assert.equal(res.contact.state, 'Middlesex');
  assert.equal(res.contact.phone, e164(1), 'the phone stays Ada\'s own');
  const { contact: charles } = await ghl.contacts.getContact({ contactId: created[1].id });
  assert.equal(charles.phone, e164(2));
  assert.equal(charles.state, undefined);
});

await step('phone-first location: getDuplicateContact and upsertContact follow phone, then email', async () => {
  const loc = phoneFirstLocationId;
  const a = await phoneFirst.contacts.createContact({ locationId: loc, firstName: 'Emmy', email: `emmy.${unique}@example.com` });
  const b = await phoneFirst.contacts.createContact({ locationId: loc, firstName: 'Sofia', phone: phone(6) });
  const dup = await phoneFirst.contacts.getDuplicateContact({
    locationId: loc, email: `emmy.${unique}@example.com`, number: e164(6),
  });
  assert.equal(phoneFirstProbe.status, 200);
  assert.equal(dup.contact?.id, b.contact.id, JSON.stringify(dup));
  const up = await phoneFirst.contacts.upsertContact({
    locationId: loc, email: `emmy.${unique}@example.com`, phone: phone(6), city: 'Moscow',
  });
  assert.equal(up.new, false);
  assert.equal(up.contact.id, b.contact.id);
  assert.equal(up.contact.city, 'Moscow');
  assert.equal(up.contact.email, undefined, 'Emmy\'s email is not copied to Sofia');
  const { contact: emmy } = await phoneFirst.contacts.getContact({ contactId: a.contact.id });
  assert.equal(emmy.email, `emmy.${unique}@example.com`);
  assert.equal(emmy.city, undefined);
});

const [userA, userB] = followerIds;

await step('addFollowersContact adds a location user (followers, followersAdded)', async () => {
  const res = await ghl.contacts.addFollowersContact({ contactId: created[0].id }, { followers: [userA] });
  assert.equal(probe.status, 201, 'status (spec: 201)');
  assertTraceId(res);
  assert.deepEqual(res.followers, [userA]);
  assert.deepEqual(res.followersAdded, [userA]);
});

await step('addFollowersContact again: only the new user is in followersAdded', async () => {
  const res = await ghl.contacts.addFollowersContact({ contactId: created[0].id }, { followers: [userA, userB] });
  assert.equal(probe.status, 201);
  assert.deepEqual([...res.followers].sort(), [userA, userB].sort());
  assert.deepEqual(res.followersAdded, [userB]);
  const { contact } = await ghl.contacts.getContact({ contactId: created[0].id });
  assert.deepEqual([...contact.followers].sort(), [userA, userB].sort());
});

await step('searchContactsAdvanced: followers eq finds the followed contact', async () => {
  const res = await searchIds([byTag, { field: 'followers', operator: 'eq', value: userB }]);
  assert.deepEqual(res.contacts.map((c) => c.id), [created[0].id]);
  assert.equal(res.total, 1);
  assert.deepEqual([...res.contacts[0].followers].sort(), [userA, userB].sort());
});

await step('addContactToCampaign answers succeded: true', async () => {
  const res = await ghl.contacts.addContactToCampaign({ contactId: created[1].id, campaignId }, {});
  assert.equal(probe.status, 201, 'status (spec: 201)');
  assertTraceId(res);
  assert.equal(res.succeded, true);
});

await step('addContactToCampaign with an unknown campaign is refused (400)', async () => {
  await assert.rejects(
    ghl.contacts.addContactToCampaign({ contactId: created[1].id, campaignId: `nope${unique}` }, {}),
    (error) => {
      assert.equal(error.statusCode, 400, JSON.stringify(error.response));
      assert.equal(error.response?.message, 'Campaign not found');
      return true;
    },
  );
});

await step('addContactToWorkflow with eventStartTime answers succeded: true', async () => {
  const res = await ghl.contacts.addContactToWorkflow(
    { contactId: created[2].id, workflowId },
    { eventStartTime: '2030-06-23T03:30:00+01:00' },
  );
  assert.equal(probe.status, 200, 'status (spec: 200)');
  assertTraceId(res);
  assert.equal(res.succeded, true);
});

await step('searchContactsAdvanced: activeWorkflows eq / not_eq the workflow', async () => {
  const enrolled = await searchIds([byTag, { field: 'activeWorkflows', operator: 'eq', value: workflowId }]);
  assert.deepEqual(enrolled.contacts.map((c) => c.id), [created[2].id]);
  assert.equal(enrolled.total, 1);
  const others = await searchIds([byTag, { field: 'activeWorkflows', operator: 'not_eq', value: workflowId }],
    { sort: [{ field: 'dateAdded', direction: 'asc' }] });
  assert.deepEqual(others.contacts.map((c) => c.id), ids().slice(0, 2));
});

await step('addContactToWorkflow without a body field, and with an unknown workflow (400)', async () => {
  const res = await ghl.contacts.addContactToWorkflow({ contactId: created[0].id, workflowId }, {});
  assert.equal(res.succeded, true);
  const enrolled = await searchIds([byTag, { field: 'activeWorkflows', operator: 'eq', value: workflowId }],
    { sort: [{ field: 'dateAdded', direction: 'asc' }] });
  assert.deepEqual(enrolled.contacts.map((c) => c.id), [created[0].id, created[2].id]);
  await assert.rejects(
    ghl.contacts.addContactToWorkflow({ contactId: created[0].id, workflowId: '00000000-0000-4000-8000-000000000000' }, {}),
    (error) => {
      assert.equal(error.statusCode, 400, JSON.stringify(error.response));
      assert.equal(error.response?.message, 'Workflow not found');
      return true;
    },
  );
});

await step('the contact without the tag never matched', async () => {
  assert.ok(outsider?.id, 'no outsider');
  const res = await searchIds([{ field: 'id', operator: 'eq', value: outsider.id }]);
  assert.deepEqual(res.contacts.map((c) => c.id), [outsider.id]);
  assert.deepEqual(res.contacts[0].tags, [`not-${tag}`]);
  const tagged = await searchIds([byTag]);
  assert.ok(!tagged.contacts.some((c) => c.id === outsider.id));
});

finish();
