'use strict';
// Unit tests: the request contract, without AWS.

const test = require('node:test');
const assert = require('node:assert');

const { parse, MAX_BODY_BYTES } = require('../src/parse');
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
