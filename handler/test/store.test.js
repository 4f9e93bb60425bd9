'use strict';
const test = require('node:test');
const assert = require('node:assert');

const { fromItem, resultKey } = require('../src/store');
const { classify } = require('../src/errors');

test('DynamoDB attribute values become plain JSON', () => {
  assert.deepStrictEqual(
    fromItem({
      id: { S: 'a' },
      n: { N: '1.5' },
      big: { N: '123456789012345678901' },
      ok: { BOOL: true },
      none: { NULL: true },
      list: { L: [{ S: 'x' }, { N: '2' }] },
      map: { M: { k: { S: 'v' } } },
      tags: { SS: ['p', 'q'] },
    }),
    { id: 'a', n: 1.5, big: '123456789012345678901', ok: true, none: null, list: ['x', 2], map: { k: 'v' }, tags: ['p', 'q'] },
  );
});

test('the result key is derived from the id and the request id', () => {
  assert.strictEqual(resultKey('item-1', 'req-9'), 'results/item-1/req-9.json');
});

test('throttling after the SDK retries answers 503, anything else 500', () => {
  for (const name of ['ProvisionedThroughputExceededException', 'ThrottlingException', 'SlowDown']) {
    assert.strictEqual(classify(Object.assign(new Error('busy'), { name })).status, 503);
  }
  const v2Style = Object.assign(new Error('busy'), { code: 'ProvisionedThroughputExceededException' });
  assert.strictEqual(classify(v2Style).status, 503);
  assert.deepStrictEqual(classify(new TypeError('boom')), {
    status: 500, code: 'InternalError', message: 'The request could not be processed.', name: 'TypeError',
  });
});
