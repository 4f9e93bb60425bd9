'use strict';
// One Lambda execution environment, kept alive between invocations (tools/lambda_runtime.py
// runs a pool of them). Like Lambda's runtime: the handler module is loaded once (the cold
// start), then each invocation gets the event and a context, one at a time; whatever the
// handler writes to stdout or stderr is its log. The invocations and their results travel on
// stdin and on a file descriptor of their own, one JSON line each, so they never mix with the log.
//
// argv: the unpacked deployment package's folder, the function's handler setting
// ("index.handler"), the results descriptor's number.

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const [packageDir, handlerSetting, resultsFd] = process.argv.slice(2);
const results = fs.createWriteStream(null, { fd: Number(resultsFd) });
const separator = handlerSetting.lastIndexOf('.');
const moduleName = handlerSetting.slice(0, separator);
const exportName = handlerSetting.slice(separator + 1);

function reply(message) {
  results.write(`${JSON.stringify(message)}\n`);
}

function describe(error) {
  return {
    errorType: (error && error.name) || 'Error',
    errorMessage: (error && error.message) || String(error),
    stackTrace: String((error && error.stack) || '').split('\n').slice(1).map((line) => line.trim()),
  };
}

let handler;
let initError;
try {
  handler = require(path.resolve(packageDir, moduleName))[exportName];
  if (typeof handler !== 'function') throw new Error(`${handlerSetting} is not a function`);
} catch (error) {
  initError = error;
}

const lines = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;

async function invoke({ id, event, context: { deadlineMs, traceHeader, ...fields } }) {
  const lambdaContext = {
    ...fields,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    callbackWaitsForEmptyEventLoop: true,
  };
  process.env._X_AMZN_TRACE_ID = traceHeader;
  if (initError) return reply({ id, error: { ...describe(initError), errorType: `Runtime.ImportModuleError` } });
  try {
    reply({ id, response: await handler(event, lambdaContext) });
  } catch (error) {
    reply({ id, error: describe(error) });
  }
}

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) await invoke(queue.shift());
  busy = false;
}

lines.on('line', (line) => {
  queue.push(JSON.parse(line));
  drain();
});
lines.on('close', () => process.exit(0));
