'use strict';
// Unit tests: the request contract, without AWS.

const test = require('node:test');
const assert = require('node:assert');

const { parse, MAX_BODY_BYTES, MAX_PAYLOAD_DEPTH } = require('../src/parse');
const { proxyEvent } = require('./support/invoke');

function refused(event, status, code) {
  assert.throws(() => parse(event), (error) => {
    assert.strictEqual(error.status, status);
    assert.strictEqual(error.code, code);
    return true;
  });
}

test('a JSON object with an id and a payload is accepted', () => {
  assert.deepStrictEqual(parse(proxyEvent({ id: 'item-1', payload: { a: 1 } })), { id: 'item-1', payload: { a: 1 } });
});

test('a missing payload becomes null', () => {
  assert.deepStrictEqual(parse(proxyEvent({ id: 'item-1' })), { id: 'item-1', payload: null });
});

test('a base64-encoded body is decoded first', () => {
  const body = Buffer.from(JSON.stringify({ id: 'b64' })).toString('base64');
  assert.deepStrictEqual(parse(proxyEvent(body, { isBase64Encoded: true })), { id: 'b64', payload: null });
});

test('content types with parameters, any header case and +json suffixes are JSON', () => {
  for (const headers of [{ 'content-type': 'application/json; charset=utf-8' }, { 'CONTENT-TYPE': 'application/vnd.api+json' }]) {
    assert.strictEqual(parse(proxyEvent({ id: 'x' }, { headers })).id, 'x');
  }
});

test('ids of 1 and 256 characters of the safe set are accepted', () => {
  assert.strictEqual(parse(proxyEvent({ id: 'a' })).id, 'a');
  const longest = `a${'b._:-'.repeat(51)}`;
  assert.strictEqual(longest.length, 256);
  assert.strictEqual(parse(proxyEvent({ id: longest })).id, longest);
});

test('a body of exactly the limit is not refused for its size', () => {
  const padding = 'x'.repeat(MAX_BODY_BYTES - JSON.stringify({ id: 'a', payload: { p: '' } }).length);
  assert.strictEqual(parse(proxyEvent({ id: 'a', payload: { p: padding } })).id, 'a');
});

test('the method is checked before anything else', () => refused(proxyEvent('{', { httpMethod: 'GET' }), 405, 'MethodNotAllowed'));
test('a non-JSON content type is refused', () => refused(proxyEvent({ id: 'a' }, { headers: { 'Content-Type': 'text/plain' } }), 415, 'UnsupportedMediaType'));
test('a missing content type is refused', () => refused(proxyEvent({ id: 'a' }, { headers: {} }), 415, 'UnsupportedMediaType'));
test('an oversize body is refused', () => refused(proxyEvent({ id: 'a', payload: { p: 'x'.repeat(MAX_BODY_BYTES) } }), 413, 'PayloadTooLarge'));
test('invalid JSON is refused', () => refused(proxyEvent('{"id":'), 400, 'InvalidJson'));
test('a non-object body is refused', () => refused(proxyEvent('[{"id":"a"}]'), 400, 'InvalidBody'));
test('unknown fields are refused', () => refused(proxyEvent({ id: 'a', payLoad: {} }), 400, 'UnknownField'));
test('a missing id is refused', () => refused(proxyEvent({ payload: {} }), 400, 'MissingId'));
for (const id of [7, '', 'a/b', '../a', 'a..b', '.hidden', 'a b', 'é', 'a'.repeat(257), null]) {
  test(`id ${JSON.stringify(id).slice(0, 20)} is refused`, () => refused(proxyEvent({ id }), 400, 'InvalidId'));
}
for (const payload of [[], 'text', 3, null, true]) {
  test(`payload ${JSON.stringify(payload)} is refused`, () => refused(proxyEvent({ id: 'a', payload }), 400, 'InvalidPayload'));
}

// Regressions from the adversarial run (issue 11): each failed before its fix.

test('a deeply nested payload is refused with its own code (JSON.stringify would overflow)', () => {
  const deep = `{"id":"item-1","payload":{"p":${'['.repeat(4500)}${']'.repeat(4500)}}}`;
  refused(proxyEvent(deep), 400, 'PayloadTooDeep');
  const limit = (levels) => `{"id":"a","payload":${'{"k":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}}`;
  assert.strictEqual(parse(proxyEvent(limit(MAX_PAYLOAD_DEPTH))).id, 'a');
  refused(proxyEvent(limit(MAX_PAYLOAD_DEPTH + 1)), 400, 'PayloadTooDeep');
});

test('an event that is not a proxy event is refused as such, not as a wrong method', () => {
  for (const event of [{}, { id: 'item-1' }, { httpMethod: 42, body: '{}' }]) refused(event, 400, 'InvalidRequest');
});

test('megabytes of base64 answer 413 before any pattern runs over them', () => {
  const huge = Buffer.alloc(6 * 1024 * 1024, 'x').toString('base64');
  refused(proxyEvent(huge, { isBase64Encoded: true }), 413, 'PayloadTooLarge');
  refused(proxyEvent(`${huge}!`, { isBase64Encoded: true }), 413, 'PayloadTooLarge');
});

test('a body that is not a string is refused', () => {
  for (const body of [{ id: 'item-1' }, 42, true, ['x'], Buffer.from('{"id":"item-1"}')]) {
    refused(proxyEvent('', { body }), 400, 'InvalidRequest');
  }
});

test('base64 is decoded strictly: anything but canonical padded base64 is refused', () => {
  const good = Buffer.from('{"id":"item-1"} ').toString('base64');
  assert.ok(good.endsWith('==') && !good.endsWith('==='));
  assert.strictEqual(parse(proxyEvent(good, { isBase64Encoded: true })).id, 'item-1');
  const urlSafe = Buffer.from('{"id":"item-1","payload":{"q":"??>>"}}').toString('base64url');
  assert.match(urlSafe, /[-_]/);
  for (const bad of [`${good}!`, `$${good}`, `${good.slice(0, 4)} ${good.slice(4)}`, good.replace(/=+$/, ''), `${good}=`, urlSafe]) {
    refused(proxyEvent(bad, { isBase64Encoded: true }), 400, 'InvalidBase64');
  }
});

test('isBase64Encoded must be a boolean: the string "false" is not false', () => {
  refused(proxyEvent({ id: 'item-1' }, { isBase64Encoded: 'false' }), 400, 'InvalidRequest');
  refused(proxyEvent({ id: 'item-1' }, { isBase64Encoded: 1 }), 400, 'InvalidRequest');
  assert.strictEqual(parse(proxyEvent({ id: 'item-1' }, { isBase64Encoded: undefined })).id, 'item-1');
});

test('the size limit counts bytes after base64 decoding', () => {
  const body = (bytes) => {
    const prefix = '{"id":"a","payload":{"p":"';
    return `${prefix}${'x'.repeat(bytes - prefix.length - 3)}"}}`;
  };
  assert.strictEqual(Buffer.byteLength(body(MAX_BODY_BYTES)), MAX_BODY_BYTES);
  const encode = (text) => Buffer.from(text).toString('base64');
  assert.strictEqual(parse(proxyEvent(encode(body(MAX_BODY_BYTES)), { isBase64Encoded: true })).id, 'a');
  refused(proxyEvent(encode(body(MAX_BODY_BYTES + 1)), { isBase64Encoded: true }), 413, 'PayloadTooLarge');
  refused(proxyEvent(body(MAX_BODY_BYTES + 1)), 413, 'PayloadTooLarge');
  // Multi-byte characters count as their UTF-8 bytes.
  refused(proxyEvent(`{"id":"a","payload":{"p":"${'é'.repeat(MAX_BODY_BYTES / 2)}"}}`), 413, 'PayloadTooLarge');
});

test('Content-Type is read from multiValueHeaders when headers lack it', () => {
  const event = proxyEvent({ id: 'item-1' }, { headers: {}, multiValueHeaders: { 'content-TYPE': ['application/json'] } });
  assert.strictEqual(parse(event).id, 'item-1');
  refused(proxyEvent({ id: 'item-1' }, { headers: {}, multiValueHeaders: { 'Content-Type': ['text/plain'] } }), 415, 'UnsupportedMediaType');
});

test('a UTF-8 byte order mark is refused as invalid JSON', () => {
  refused(proxyEvent('\uFEFF{"id":"item-1"}'), 400, 'InvalidJson');
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":"item-1"}')]).toString('base64');
  refused(proxyEvent(withBom, { isBase64Encoded: true }), 400, 'InvalidJson');
});

test('duplicate names: the last one wins, and is the one validated', () => {
  assert.deepStrictEqual(parse(proxyEvent('{"id":"bad/../x","id":"item-1"}')), { id: 'item-1', payload: null });
  refused(proxyEvent('{"id":"item-1","id":"bad/../x"}'), 400, 'InvalidId');
});

test('"letters" in the id rule are ASCII letters', () => {
  for (const id of ['é', 'itemß', 'İd', 'ｉｄ', 'id\u200b']) refused(proxyEvent({ id }), 400, 'InvalidId');
});
