'use strict';
// The happy path again on AWS SDK v2, as on nodejs14.x/16.x where SDK v3 is not bundled.

const Module = require('module');
const test = require('node:test');
const assert = require('node:assert');

const { arrange } = require('./support/emulator');
const { invoke, proxyEvent } = require('./support/invoke');

let emulator;
let aws;
let handler;

test.before(async () => {
  ({ emulator, aws } = await arrange({
    table: 'items-v2',
    bucket: 'results-v2',
    item: { id: { S: 'item-2' }, flag: { BOOL: true } },
    cdnDomain: 'cdn.example',
  }));
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';

  // From here on, SDK v3 cannot be resolved: the handler must fall back to v2.
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function hideSdkV3(request, ...rest) {
    if (request.startsWith('@aws-sdk/')) {
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    }
    return resolve.call(this, request, ...rest);
  };
  ({ handler } = require('../index.js'));
});

test.after(() => emulator && emulator.stop());

test('the handler runs on SDK v2 (endpoint passed explicitly) and writes the result', async () => {
  const result = await invoke(handler, proxyEvent({ id: 'item-2', payload: { v: 2 } }));
  assert.strictEqual(result.status, 200, JSON.stringify(result));
  assert.strictEqual(require('../src/aws').aws().generation, 2);
  const stored = await aws.readJson('results-v2', result.body.key);
  assert.deepStrictEqual(stored.item, { id: 'item-2', flag: true });
  assert.deepStrictEqual(stored.payload, { v: 2 });
});
