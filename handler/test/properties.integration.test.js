'use strict';
// Property-based tests (fast-check) of the handler's contract, against the patched emulator.
//
// The seed is fixed, so `make test` is repeatable. Run longer or elsewhere with
//   FC_NUM_RUNS=2000 FC_SEED=$RANDOM npm test
// (a failure prints its seed and counterexample; FC_SEED reproduces it).

const test = require('node:test');
const assert = require('node:assert');
const fc = require('fast-check');

const { arrange } = require('./support/emulator');
const { invoke, proxyEvent } = require('./support/invoke');
const { MAX_BODY_BYTES } = require('../src/parse');

const SEED = Number(process.env.FC_SEED || 20261126);
const NUM_RUNS = Number(process.env.FC_NUM_RUNS || 60);
fc.configureGlobal({ seed: SEED, numRuns: NUM_RUNS, endOnFailure: true });

const TABLE = 'prop-items';
const BUCKET = 'prop-results';
const SEEDED = ['seeded-1', 'seeded.2', 'Seeded:3'];
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;
const STATUSES = new Set([200, 400, 404, 405, 413, 415]);
const LEVEL = { 2: 'INFO', 4: 'WARN', 5: 'ERROR' };

let emulator;
let aws;
let handler;

/** fc.assert, with the failed assertion's own message in the report (node's runner shows only the message). */
async function check(property) {
  try {
    await fc.assert(property);
  } catch (error) {
    if (error.cause) error.message += `\nCause: ${error.cause.message || error.cause}`;
    throw error;
  }
}

test.before(async () => {
  ({ emulator, aws } = await arrange({
    table: TABLE,
    bucket: BUCKET,
    item: { id: { S: SEEDED[0] } },
    cdnDomain: 'cdn.example',
  }));
  for (const id of SEEDED.slice(1)) await aws.putRawItem(TABLE, JSON.stringify({ id: { S: id }, ['__proto__']: { S: 'prototype-named' } }));
  ({ handler } = require('../index.js'));
});

test.after(() => emulator && emulator.stop());

// ---- generators -------------------------------------------------------------------------------

const validId = fc.oneof(
  fc.constantFrom(...SEEDED),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/).filter((id) => !id.includes('..')),
);
const anyId = fc.oneof(validId, fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constant('a'.repeat(257)), fc.jsonValue());
// Keys an attacker likes: prototype names, unicode, empty.
const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''), fc.string({ unit: 'grapheme', maxLength: 8 }));
const payloadObject = fc.dictionary(key, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
// DynamoDB refuses empty attribute names, at any depth.
const attributeName = key.filter((name) => name.length > 0);

function nested(levels) {
  return `{"id":"seeded-1","payload":{"p":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
}

/** A JSON body of exactly `bytes` bytes (UTF-8), for the size limit. */
function sized(bytes) {
  const prefix = '{"id":"seeded-1","payload":{"p":"';
  return `${prefix}${'x'.repeat(Math.max(0, bytes - prefix.length - 3))}"}}`;
}

const body = fc.oneof(
  { weight: 4, arbitrary: fc.record({ id: anyId, payload: fc.option(payloadObject, { nil: undefined }) }, { requiredKeys: ['id'] }).map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: fc.record({ id: validId, payload: payloadObject }).map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 6000 }).map(nested) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BODY_BYTES - 8, max: MAX_BODY_BYTES + 8 }).map(sized) },
  { weight: 1, arbitrary: fc.record({ id: validId, extra: fc.jsonValue() }).map((r) => JSON.stringify(r)) },
);

const encoding = fc.oneof(
  { weight: 4, arbitrary: fc.constant('text') },
  { weight: 2, arbitrary: fc.constant('base64') },
  { weight: 1, arbitrary: fc.constantFrom('base64url', 'base64-stray', 'base64-unpadded', 'not-a-string', 'flag-as-string') },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
);

const request = fc.record({
  body,
  encoding,
  contentType,
  headerPlace: fc.constantFrom('headers', 'multiValueHeaders', 'both'),
  method: fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') }),
});

function toEvent({ body: text, encoding: how, contentType: type, headerPlace, method }) {
  const headers = type === undefined ? {} : { 'Content-Type': type };
  const event = proxyEvent(text, {
    httpMethod: method,
    headers: headerPlace === 'multiValueHeaders' ? {} : headers,
    multiValueHeaders: headerPlace === 'headers' ? {} : Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
  });
  const base64 = Buffer.from(text).toString('base64');
  switch (how) {
    case 'base64':
      return { ...event, body: base64, isBase64Encoded: true };
    case 'base64url':
      return { ...event, body: Buffer.from(text).toString('base64url'), isBase64Encoded: true };
    case 'base64-stray':
      return { ...event, body: `${base64.slice(0, 2)}!${base64.slice(2)}`, isBase64Encoded: true };
    case 'base64-unpadded':
      return { ...event, body: base64.replace(/=+$/, ''), isBase64Encoded: true };
    case 'not-a-string':
      return { ...event, body: { text } };
    case 'flag-as-string':
      return { ...event, isBase64Encoded: 'false' };
    default:
      return event;
  }
}

// ---- the contract's invariants ----------------------------------------------------------------

async function assertContract(event) {
  const before = await aws.countObjects(BUCKET);
  const result = await invoke(handler, event);
  const after = await aws.countObjects(BUCKET);

  assert.ok(STATUSES.has(result.status), `status ${result.status}: ${JSON.stringify(result.body)}`);
  assert.strictEqual(result.logs.length, 1, 'exactly one log line');
  const [line] = result.logs;
  assert.strictEqual(line.level, LEVEL[Math.floor(result.status / 100)]);
  assert.strictEqual(line.status, result.status);
  assert.strictEqual(line.requestId, result.body.requestId);
  if (result.status === 200) {
    assert.deepStrictEqual(Object.keys(result.body).sort(), ['key', 'requestId', 'url']);
    assert.ok(ID_PATTERN.test(line.id) && !line.id.includes('..'));
    assert.ok(result.body.key.startsWith(`results/${line.id}/`), result.body.key);
    assert.strictEqual(result.body.key.split('/').length, 3);
    assert.strictEqual(result.body.url, `https://cdn.example/${result.body.key}`);
    assert.strictEqual(after, before + 1, 'a 200 writes one object');
  } else {
    assert.deepStrictEqual(Object.keys(result.body).sort(), ['error', 'message', 'requestId']);
    assert.match(result.body.error, /^[A-Z][A-Za-z0-9]+$/);
    assert.strictEqual(after, before, `a ${result.status} writes nothing`);
  }
  return result;
}

test('any request: a contract status, the error shape, one log line at its level, writes only on 200', async () => {
  await check(fc.asyncProperty(request, async (generated) => {
      await assertContract(toEvent(generated));
    }));
});

test('any valid request for a stored item is processed, its payload stored as sent', async () => {
  await check(
    fc.asyncProperty(fc.constantFrom(...SEEDED), payloadObject, fc.boolean(), async (id, payload, base64) => {
      const text = JSON.stringify({ id, payload });
      const event = base64 ? proxyEvent(Buffer.from(text).toString('base64'), { isBase64Encoded: true }) : proxyEvent(text);
      const result = await assertContract(event);
      assert.strictEqual(result.status, 200, JSON.stringify(result.body));
      const stored = await aws.readJson(BUCKET, result.body.key);
      assert.deepStrictEqual(stored.payload, JSON.parse(JSON.stringify(payload)));
    }),
  );
});

// ---- items: every DynamoDB type, written to the result as docs/handler.md's mapping says -----------

/** Set elements in any order (DynamoDB does not keep them). */
class Unordered {
  constructor(elements) {
    this.elements = elements;
  }
}

function assertMatches(actual, expected, where = 'item') {
  if (expected instanceof Unordered) {
    assert.ok(Array.isArray(actual), `${where} is an array`);
    const canon = (list) => list.map((element) => JSON.stringify(element)).sort();
    assert.deepStrictEqual(canon(actual), canon(expected.elements), where);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, where);
    expected.forEach((element, index) => assertMatches(actual[index], element, `${where}[${index}]`));
  } else if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), where);
    assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${where}: own keys`);
    for (const name of Object.keys(expected)) assertMatches(actual[name], expected[name], `${where}.${name}`);
  } else {
    assert.strictEqual(actual, expected, where);
  }
}

// Each generator yields [DynamoDB attribute value, the JSON the result must hold].
const exactDouble = fc
  .double({ noNaN: true, noDefaultInfinity: true, min: -1e100, max: 1e100 })
  .filter((d) => d === 0 || Math.abs(d) >= 1e-100)
  .map((d) => [{ N: String(d) }, Number(String(d))]);
// More significant digits than a double holds: must come back as the very same text.
const longDecimal = fc
  .tuple(fc.stringMatching(/^[1-9][0-9]{17,25}$/), fc.stringMatching(/^[0-9]{0,10}[1-9]$/), fc.boolean())
  .map(([whole, fraction, negative]) => `${negative ? '-' : ''}${whole}.${fraction}`)
  .map((text) => [{ N: text }, text]);
const bytes = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'));
const scalar = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => [{ S: s }, s]),
  exactDouble,
  longDecimal,
  bytes.map((b) => [{ B: b }, { $binary: b }]),
  fc.boolean().map((b) => [{ BOOL: b }, b]),
  fc.constant([{ NULL: true }, null]),
  fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }).map((s) => [{ SS: s }, new Unordered(s)]),
  fc.uniqueArray(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 4 }).map((n) => [{ NS: n.map(String) }, new Unordered(n)]),
  fc.uniqueArray(bytes, { minLength: 1, maxLength: 3 }).map((b) => [{ BS: b }, new Unordered(b.map(($binary) => ({ $binary })))]),
);
const { attribute } = fc.letrec((tie) => ({
  attribute: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('attribute'), { maxLength: 3 }).map((pairs) => [{ L: pairs.map(([v]) => v) }, pairs.map(([, e]) => e)]),
  map: fc
    .uniqueArray(fc.tuple(attributeName, tie('attribute')), { maxLength: 4, selector: ([name]) => name })
    .map((entries) => [
      { M: Object.fromEntries(entries.map(([name, [v]]) => [name, v])) },
      Object.fromEntries(entries.map(([name, [, e]]) => [name, e])),
    ]),
}));
const itemAttributes = fc.uniqueArray(fc.tuple(attributeName.filter((name) => name !== 'id'), attribute), {
  maxLength: 6,
  selector: ([name]) => name,
});

let itemCounter = 0;

test('any item: every attribute survives as an own key, typed as documented', async () => {
  await check(
    fc.asyncProperty(itemAttributes, async (attributes) => {
      itemCounter += 1;
      const id = `prop-item-${itemCounter}`;
      const item = Object.fromEntries([['id', { S: id }], ...attributes.map(([name, [value]]) => [name, value])]);
      const expected = Object.fromEntries([['id', id], ...attributes.map(([name, [, json]]) => [name, json])]);
      await aws.putRawItem(TABLE, JSON.stringify(item));
      const result = await assertContract(proxyEvent({ id }));
      assert.strictEqual(result.status, 200, JSON.stringify(result.body));
      const stored = JSON.parse(JSON.stringify(await aws.readJson(BUCKET, result.body.key)));
      assertMatches(stored.item, expected);
    }),
  );
});
