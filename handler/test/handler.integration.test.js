'use strict';
// The handler against a moto server on loopback: tables and buckets made here.

const test = require('node:test');
const assert = require('node:assert');

const { arrange, configuredFor } = require('./support/emulator');
const { environment: ENVIRONMENT } = require('../src/contract.json');
const { invoke, proxyEvent } = require('./support/invoke');
const { MAX_BODY_BYTES } = require('../src/parse');

const TABLE = 'items';
const BUCKET = 'results';
let emulator;
let aws;
let handler;

test.before(async () => {
  ({ emulator, aws } = await arrange({
    table: TABLE,
    bucket: BUCKET,
    item: { id: { S: 'item-1' }, name: { S: 'first' }, count: { N: '3' } },
    cdnDomain: 'd111111abcdef8.cloudfront.net',
  }));
  ({ handler } = require('../index.js'));
});

test.after(() => emulator && emulator.stop());

test('happy path: the item and payload land in the bucket; 200 with key and CDN URL', async () => {
  const result = await invoke(handler, proxyEvent({ id: 'item-1', payload: { note: 'hello' } }));
  assert.strictEqual(result.status, 200);
  const { key, url, requestId } = result.body;
  assert.strictEqual(key, `results/item-1/${requestId}.json`);
  assert.strictEqual(url, `https://d111111abcdef8.cloudfront.net/${key}`);
  const stored = await aws.readJson(BUCKET, key);
  assert.deepStrictEqual(stored.item, { id: 'item-1', name: 'first', count: 3 });
  assert.deepStrictEqual(stored.payload, { note: 'hello' });
  assert.strictEqual(stored.requestId, requestId);
  assert.ok(!Number.isNaN(Date.parse(stored.processedAt)));
  assert.strictEqual(result.logs.length, 1);
  assert.deepStrictEqual(
    { level: result.logs[0].level, requestId: result.logs[0].requestId, id: result.logs[0].id, status: result.logs[0].status },
    { level: 'INFO', requestId, id: 'item-1', status: 200 },
  );
  assert.strictEqual(typeof result.logs[0].durationMs, 'number');
});

test('a base64-encoded request is processed like a plain one', async () => {
  const body = Buffer.from(JSON.stringify({ id: 'item-1' })).toString('base64');
  const result = await invoke(handler, proxyEvent(body, { isBase64Encoded: true }));
  assert.strictEqual(result.status, 200);
  assert.strictEqual((await aws.readJson(BUCKET, result.body.key)).payload, null);
});

test('an unknown id answers 404 and writes nothing', async () => {
  const before = await aws.listKeys(BUCKET);
  const result = await invoke(handler, proxyEvent({ id: 'no-such-item' }));
  assert.strictEqual(result.status, 404);
  assert.strictEqual(result.body.error, 'NotFound');
  assert.deepStrictEqual(await aws.listKeys(BUCKET), before);
});

const BAD_INPUTS = [
  ['invalid JSON', proxyEvent('{"id":'), 400, 'InvalidJson'],
  ['an empty body', proxyEvent(''), 400, 'InvalidJson'],
  ['invalid JSON in base64', proxyEvent(Buffer.from('{').toString('base64'), { isBase64Encoded: true }), 400, 'InvalidJson'],
  ['an array body', proxyEvent('[]'), 400, 'InvalidBody'],
  ['a string body', proxyEvent('"item-1"'), 400, 'InvalidBody'],
  ['a null body', proxyEvent('null'), 400, 'InvalidBody'],
  ['a missing id', proxyEvent({ payload: {} }), 400, 'MissingId'],
  ['a numeric id', proxyEvent({ id: 1 }), 400, 'InvalidId'],
  ['an empty id', proxyEvent({ id: '' }), 400, 'InvalidId'],
  ['an id with a slash', proxyEvent({ id: 'item-1/../../x' }), 400, 'InvalidId'],
  ['an id with ..', proxyEvent({ id: 'item..1' }), 400, 'InvalidId'],
  ['an id of 257 characters', proxyEvent({ id: 'a'.repeat(257) }), 400, 'InvalidId'],
  ['a payload that is an array', proxyEvent({ id: 'item-1', payload: [1] }), 400, 'InvalidPayload'],
  ['a payload that is a string', proxyEvent({ id: 'item-1', payload: 'x' }), 400, 'InvalidPayload'],
  ['an unknown field', proxyEvent({ id: 'item-1', extra: true }), 400, 'UnknownField'],
  ['a body over the contract limit', proxyEvent({ id: 'item-1', payload: { p: 'x'.repeat(MAX_BODY_BYTES) } }), 413, 'PayloadTooLarge'],
  ['a text/plain body', proxyEvent({ id: 'item-1' }, { headers: { 'Content-Type': 'text/plain' } }), 415, 'UnsupportedMediaType'],
  ['no content type', proxyEvent({ id: 'item-1' }, { headers: {} }), 415, 'UnsupportedMediaType'],
  ['a GET', proxyEvent(null, { httpMethod: 'GET' }), 405, 'MethodNotAllowed'],
  ['a PUT', proxyEvent({ id: 'item-1' }, { httpMethod: 'PUT' }), 405, 'MethodNotAllowed'],
];

for (const [name, event, status, error] of BAD_INPUTS) {
  test(`${name} answers ${status} ${error} and writes nothing`, async () => {
    const before = await aws.listKeys(BUCKET);
    const result = await invoke(handler, event);
    assert.strictEqual(result.status, status);
    assert.strictEqual(result.body.error, error);
    assert.strictEqual(typeof result.body.message, 'string');
    assert.ok(result.body.requestId);
    assert.deepStrictEqual(await aws.listKeys(BUCKET), before);
    assert.strictEqual(result.logs.length, 1);
    assert.strictEqual(result.logs[0].status, status);
  });
}

test('405 names the allowed method', async () => {
  const result = await invoke(handler, proxyEvent(null, { httpMethod: 'DELETE' }));
  assert.strictEqual(result.headers.Allow, 'POST');
});

async function withEnv(overrides, fn) {
  const saved = { ...process.env };
  Object.assign(process.env, overrides);
  try {
    return await fn();
  } finally {
    for (const name of Object.keys(overrides)) process.env[name] = saved[name];
  }
}

function assertFault(result) {
  assert.strictEqual(result.status, 500);
  assert.deepStrictEqual(Object.keys(result.body).sort(), ['error', 'message', 'requestId']);
  assert.strictEqual(result.body.error, 'InternalError');
  // No internals: no AWS error names, resource names or stack traces reach the client.
  assert.doesNotMatch(JSON.stringify(result.body), /Exception|NoSuch|missing-|arn:|at /);
  assert.strictEqual(result.logs.length, 1);
  assert.strictEqual(result.logs[0].level, 'ERROR');
  assert.strictEqual(result.logs[0].status, 500);
  assert.strictEqual(result.logs[0].requestId, result.body.requestId);
  return result.logs[0];
}

test('a missing table answers 500 and logs one structured error line', async () => {
  const result = await withEnv(configuredFor({ table: 'missing-table' }), () => invoke(handler, proxyEvent({ id: 'item-1' })));
  assert.strictEqual(assertFault(result).cause.name, 'ResourceNotFoundException');
});

test('a missing bucket answers 500, logs one structured error line and writes nothing', async () => {
  const before = await aws.listKeys(BUCKET);
  const result = await withEnv(configuredFor({ bucket: 'missing-bucket' }), () => invoke(handler, proxyEvent({ id: 'item-1' })));
  assert.strictEqual(assertFault(result).cause.name, 'NoSuchBucket');
  assert.deepStrictEqual(await aws.listKeys(BUCKET), before);
});

test('missing configuration answers 500 without naming it to the client', async () => {
  const result = await withEnv(configuredFor({ cdnDomain: '' }), () => invoke(handler, proxyEvent({ id: 'item-1' })));
  assert.match(assertFault(result).cause.message, new RegExp(ENVIRONMENT.cdnDomain));
});
