'use strict';
const test = require('node:test');
const assert = require('node:assert');

const { parse } = require('../index.js');

const event = (body) => ({ httpMethod: 'POST', body });

test('a JSON object with an id and a payload is accepted', () => {
  assert.deepStrictEqual(parse(event('{"id":"item-1","payload":{"a":1}}')), { id: 'item-1', payload: { a: 1 } });
});

test('a missing payload becomes null', () => {
  assert.deepStrictEqual(parse(event('{"id":"item-1"}')), { id: 'item-1', payload: null });
});

for (const [name, body, status, error] of [
  ['invalid JSON', '{', 400, 'InvalidJson'],
  ['an empty body', '', 400, 'InvalidJson'],
  ['an array', '[1]', 400, 'InvalidBody'],
  ['null', 'null', 400, 'InvalidBody'],
  ['a missing id', '{"payload":{}}', 400, 'InvalidId'],
  ['a numeric id', '{"id":7}', 400, 'InvalidId'],
  ['an id that escapes the key prefix', '{"id":"../x"}', 400, 'InvalidId'],
]) {
  test(`${name} is refused with ${status} ${error}`, () => {
    assert.throws(() => parse(event(body)), (thrown) => thrown.status === status && thrown.error === error);
  });
}
