'use strict';
// One Lambda execution environment, kept alive between invocations (local_cloud/lambda_runtime.py
// runs a pool of them). Like Lambda's runtime: the handler module is loaded once (the cold
// start), then each invocation gets the event and a context, one at a time; whatever the
// handler writes to stdout or stderr is its log. The invocations and their results travel on
// stdin and on a file descriptor of their own, one JSON line each, so they never mix with the log.
//
// Like Lambda, a module the package requires comes from the package or from the runtime: the
// runtime's bundled SDK is on NODE_PATH, and any other package found there (the stand-in's
// NODE_PATH holds more) is refused, as it would be missing on Lambda.
//
// argv: the unpacked deployment package's folder, the function's handler setting
// ("index.handler"), the results descriptor's number, the bundled SDK's name prefix.

const fs = require('fs');
const Module = require('module');
const path = require('path');
const readline = require('readline');

const [packageDir, handlerSetting, resultsFd, sdkPrefix] = process.argv.slice(2);
const packageRoot = path.resolve(packageDir) + path.sep;

function bundled(request) {
  const name = sdkPrefix.replace(/\/$/, '');
  return request === name || request.startsWith(`${name}/`);
}

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveLikeLambda(request, parent, ...rest) {
  const resolved = resolveFilename.call(this, request, parent, ...rest);
  const fromPackage = Boolean(parent && parent.filename && parent.filename.startsWith(packageRoot));
  const bare = !request.startsWith('.') && !path.isAbsolute(request) && !Module.isBuiltin(request);
  if (fromPackage && bare && !resolved.startsWith(packageRoot) && !bundled(request)) {
    const error = new Error(`Cannot find module '${request}': not in the deployment package, not bundled by the runtime`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolved;
};
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
