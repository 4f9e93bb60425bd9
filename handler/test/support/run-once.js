'use strict';
// Runs the handler once in a fresh process (its AWS clients are made once per process, from the
// environment at that time): the event from argv, Lambda's remaining time from REMAINING_MS, SDK
// v3 hidden when HIDE_SDK_V3=1. Prints {status, body, logs, elapsedMs}.

const Module = require('module');
const path = require('path');

if (process.env.HIDE_SDK_V3 === '1') {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function hideSdkV3(request, ...rest) {
    if (request.startsWith('@aws-sdk/')) {
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    }
    return resolve.call(this, request, ...rest);
  };
}

const root = path.join(__dirname, '..', '..');
const { output } = require(path.join(root, 'src', 'log'));
const lines = [];
output.write = (line) => lines.push(line);
const { handler } = require(root);

const started = Date.now();
const remaining = Number(process.env.REMAINING_MS || 10000);
const context = { awsRequestId: 'run-once', getRemainingTimeInMillis: () => remaining - (Date.now() - started) };
handler(JSON.parse(process.argv[2]), context).then((response) => {
  process.stdout.write(
    JSON.stringify({
      status: response.statusCode,
      body: JSON.parse(response.body),
      logs: lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line)),
      elapsedMs: Date.now() - started,
    }),
  );
  // Sockets to a black hole stay open: leave without waiting for them.
  process.exit(0);
});
