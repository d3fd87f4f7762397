// Runs HighLevel's official Node SDK, unchanged, against a hilo server and checks the values
// that come back. Needs HILO_BASE_URL, HILO_TOKEN (a private integration token holding
// contacts.readonly and contacts.write) and HILO_LOCATION_ID. Exit code 1 on any failure.
import assert from 'node:assert/strict';
import { HighLevel } from '@gohighlevel/api-client';
import { finish, requiredEnv, step } from './harness.mjs';

const baseUrl = requiredEnv('HILO_BASE_URL').replace(/\/+$/, '');
const token = requiredEnv('HILO_TOKEN');
const locationId = requiredEnv('HILO_LOCATION_ID');

// The SDK has no constructor option for its base URL; it reads this static when it builds its
// HTTP client, so setting it first is how a user points the SDK at another server.
HighLevel.BASE_URL = baseUrl;
const ghl = new HighLevel({ privateIntegrationToken: token, logLevel: 'none' });

const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const unique = Date.now().toString(36);
const email = `ada.${unique}@example.com`;

let contactId;

await step('createContact returns the contact with the values sent', async () => {
  const res = await ghl.contacts.createContact({
    locationId,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email,
    phone: '+1 415 555 0100',
    tags: ['SDK', 'Founder '],
    source: 'node-sdk',
  });
  const c = res.contact;
  assert.ok(c?.id, 'contact.id');
  contactId = c.id;
  assert.equal(c.locationId, locationId);
  assert.equal(c.firstName, 'Ada');
  assert.equal(c.lastName, 'Lovelace');
  assert.equal(c.email, email);
  assert.equal(c.phone, '+14155550100');
  assert.deepEqual([...c.tags].sort(), ['founder', 'sdk']);
  assert.equal(c.source, 'node-sdk');
  assert.match(c.dateAdded, isoMillis);
});

await step('getContact reads back the same values', async () => {
  const { contact: c } = await ghl.contacts.getContact({ contactId });
  assert.equal(c.id, contactId);
  assert.equal(c.firstName, 'Ada');
  assert.equal(c.lastName, 'Lovelace');
  assert.equal(c.email, email);
  assert.equal(c.phone, '+14155550100');
  assert.equal(c.locationId, locationId);
});

await step('updateContact changes only what was sent', async () => {
  const res = await ghl.contacts.updateContact({ contactId }, { firstName: 'Augusta', city: 'London' });
  assert.equal(res.succeded, true);
  assert.equal(res.contact.firstName, 'Augusta');
  assert.equal(res.contact.city, 'London');
  assert.equal(res.contact.lastName, 'Lovelace');
  const { contact: again } = await ghl.contacts.getContact({ contactId });
  assert.equal(again.firstName, 'Augusta');
  assert.equal(again.city, 'London');
  assert.equal(again.email, email);
});

await step('getContacts (deprecated list) finds the contact', async () => {
  const res = await ghl.contacts.getContacts({ locationId, query: email, limit: 20 });
  assert.ok(Array.isArray(res.contacts));
  assert.ok(res.contacts.some((c) => c.id === contactId));
  assert.equal(typeof res.meta?.total, 'number');
});

const dueDate = '2030-01-02T03:04:05.000Z';
const taskIds = [];

await step('task flow: createTask twice', async () => {
  for (const title of ['Call Ada', 'Send the engine notes']) {
    const res = await ghl.contacts.createTask(
      { contactId },
      { title, body: `About: ${title}`, dueDate, completed: false },
    );
    assert.ok(res.task?.id, 'task.id');
    assert.equal(res.task.title, title);
    assert.equal(res.task.body, `About: ${title}`);
    assert.equal(res.task.dueDate, dueDate);
    assert.equal(res.task.completed, false);
    assert.equal(res.task.contactId, contactId);
    taskIds.push(res.task.id);
  }
});

await step('task flow: getAllTasks lists both', async () => {
  const res = await ghl.contacts.getAllTasks({ contactId });
  const ids = res.tasks.map((t) => t.id).sort();
  assert.deepEqual(ids, [...taskIds].sort());
});

await step('task flow: getTask returns one', async () => {
  const res = await ghl.contacts.getTask({ contactId, taskId: taskIds[0] });
  assert.equal(res.task.id, taskIds[0]);
  assert.equal(res.task.title, 'Call Ada');
  assert.equal(res.task.dueDate, dueDate);
});

await step('task flow: updateTask changes the title', async () => {
  const res = await ghl.contacts.updateTask({ contactId, taskId: taskIds[0] }, { title: 'Call Ada today' });
  assert.equal(res.task.title, 'Call Ada today');
  assert.equal(res.task.body, 'About: Call Ada');
  const again = await ghl.contacts.getTask({ contactId, taskId: taskIds[0] });
  assert.equal(again.task.title, 'Call Ada today');
});

await step('task flow: updateTaskCompleted marks it done', async () => {
  const res = await ghl.contacts.updateTaskCompleted({ contactId, taskId: taskIds[0] }, { completed: true });
  assert.equal(res.task.completed, true);
  const again = await ghl.contacts.getTask({ contactId, taskId: taskIds[0] });
  assert.equal(again.task.completed, true);
});

await step('task flow: deleteTask removes it', async () => {
  const res = await ghl.contacts.deleteTask({ contactId, taskId: taskIds[1] });
  assert.equal(res.succeded, true);
  const list = await ghl.contacts.getAllTasks({ contactId });
  assert.deepEqual(list.tasks.map((t) => t.id), [taskIds[0]]);
});

let noteId;

await step('notes flow: createNote', async () => {
  const res = await ghl.contacts.createNote({ contactId }, { body: 'Met at the Analytical Society' });
  assert.ok(res.note?.id, 'note.id');
  assert.equal(res.note.body, 'Met at the Analytical Society');
  assert.equal(res.note.contactId, contactId);
  assert.match(res.note.dateAdded, isoMillis);
  noteId = res.note.id;
});

await step('notes flow: getAllNotes and getNote', async () => {
  const list = await ghl.contacts.getAllNotes({ contactId });
  assert.deepEqual(list.notes.map((n) => n.id), [noteId]);
  const one = await ghl.contacts.getNote({ contactId, id: noteId });
  assert.equal(one.note.id, noteId);
  assert.equal(one.note.body, 'Met at the Analytical Society');
});

await step('notes flow: updateNote', async () => {
  const res = await ghl.contacts.updateNote({ contactId, id: noteId }, { body: 'Wrote the first program' });
  assert.equal(res.note.body, 'Wrote the first program');
  const again = await ghl.contacts.getNote({ contactId, id: noteId });
  assert.equal(again.note.body, 'Wrote the first program');
});

await step('notes flow: deleteNote', async () => {
  const res = await ghl.contacts.deleteNote({ contactId, id: noteId });
  assert.equal(res.succeded, true);
  const list = await ghl.contacts.getAllNotes({ contactId });
  assert.deepEqual(list.notes, []);
});

await step('addTags and removeTags', async () => {
  const added = await ghl.contacts.addTags({ contactId }, { tags: ['VIP'] });
  assert.deepEqual([...added.tags].sort(), ['founder', 'sdk', 'vip']);
  const removed = await ghl.contacts.removeTags({ contactId }, { tags: ['sdk'] });
  assert.deepEqual([...removed.tags].sort(), ['founder', 'vip']);
});

await step('getAppointmentsForContact answers an empty list', async () => {
  const res = await ghl.contacts.getAppointmentsForContact({ contactId });
  assert.deepEqual(res.events, []);
});

await step('deleteContact removes it, and getContact then fails with 400', async () => {
  const res = await ghl.contacts.deleteContact({ contactId });
  assert.equal(res.succeded, true);
  await assert.rejects(ghl.contacts.getContact({ contactId }), (error) => {
    assert.equal(error.statusCode ?? error.response?.status, 400);
    return true;
  });
});

finish();
