'use strict';
const test = require('node:test');
const assert = require('node:assert');

const { fromItem, resultKey, canonicalDecimal } = require('../src/store');
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

test('a number that a JSON number cannot hold exactly is kept as its decimal string', () => {
  const numbers = fromItem({
    pi: { N: '3.14159265358979323846264338327950288' },
    small: { N: '0.1' },
    large: { N: '1E+300' },
    huge: { N: '1E+400' },
    tiny: { N: '1E-130' },
    negative: { N: '-12.5' },
    safe: { N: '9007199254740991' },
    unsafe: { N: '9007199254740993' },
  });
  assert.deepStrictEqual(numbers, {
    pi: '3.14159265358979323846264338327950288',
    small: 0.1,
    large: 1e300,
    huge: '1E+400',
    tiny: 1e-130,
    negative: -12.5,
    safe: 9007199254740991,
    unsafe: '9007199254740993',
  });
  assert.strictEqual(canonicalDecimal('1.50'), canonicalDecimal('1.5'));
  assert.strictEqual(canonicalDecimal('-0.00'), '0');
  assert.notStrictEqual(canonicalDecimal('15'), canonicalDecimal('1.5'));
});

test('binary values and sets are told apart from strings and lists', () => {
  assert.deepStrictEqual(fromItem({ b: { B: 'AAEC' }, s: { S: 'AAEC' }, bs: { BS: ['AA==', 'AQ=='] }, ns: { NS: ['1', '0.1'] } }), {
    b: { $binary: 'AAEC' },
    s: 'AAEC',
    bs: [{ $binary: 'AA==' }, { $binary: 'AQ==' }],
    ns: [1, 0.1],
  });
});

test('an attribute named __proto__ stays an own key, at any depth', () => {
  const item = fromItem(JSON.parse('{"__proto__":{"S":"top"},"m":{"M":{"__proto__":{"N":"1"}}}}'));
  assert.deepStrictEqual(Object.keys(item), ['__proto__', 'm']);
  assert.strictEqual(Object.getPrototypeOf(item), Object.prototype);
  assert.strictEqual(JSON.stringify(item), '{"__proto__":"top","m":{"__proto__":1}}');
});

test('the result key is derived from the id and the request id', () => {
  assert.strictEqual(resultKey('item-1', 'req-9'), 'results/item-1/req-9.json');
});

test('unreachable dependencies answer 503, timeouts 504', () => {
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE']) {
    assert.strictEqual(classify(Object.assign(new Error('socket'), { code })).status, 503);
  }
  assert.strictEqual(classify(Object.assign(new Error('x'), { name: 'NetworkingError', code: 'ECONNRESET' })).status, 503);
  // What SDK v2 really raises for a refused connection.
  const refused = Object.assign(new Error('Inaccessible host: `127.0.0.1\' at port `1\'.'), { code: 'UnknownEndpoint', originalError: { code: 'ECONNREFUSED' } });
  assert.strictEqual(classify(refused).status, 503);
  // AWS failing on its side, after the retries: retry later, not a 500.
  assert.strictEqual(classify(Object.assign(new Error('x'), { name: 'ServiceUnavailable' })).status, 503);
  assert.strictEqual(classify(Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 502 } })).status, 503);
  assert.strictEqual(classify(Object.assign(new Error('x'), { code: 'InternalError', statusCode: 500 })).status, 503);
  assert.strictEqual(classify(Object.assign(new Error('x'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })).status, 500);
  for (const name of ['DeadlineExceeded', 'AbortError', 'TimeoutError', 'RequestAbortedError']) {
    assert.deepStrictEqual(classify(Object.assign(new Error('late'), { name })).code, 'Timeout');
  }
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
