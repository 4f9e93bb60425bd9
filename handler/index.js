'use strict';
// POST /process: parse → read (DynamoDB GetItem) → write (S3 PutObject) → respond.
// Configuration comes from the environment the stack sets, named in src/contract.json.

const crypto = require('crypto');
const { deadlineFor } = require('./src/budget');
const { ClientError, classify } = require('./src/errors');
const { log } = require('./src/log');
const { parse } = require('./src/parse');
const { respond } = require('./src/respond');
const { read, resultKey, write } = require('./src/store');

const { environment: ENVIRONMENT, errorLine: ERROR_LINE } = require('./src/contract.json');

function config() {
  const values = Object.fromEntries(Object.entries(ENVIRONMENT).map(([setting, name]) => [setting, process.env[name]]));
  const missing = Object.entries(ENVIRONMENT).filter(([setting]) => !values[setting]);
  if (missing.length) throw new Error(`Missing environment: ${missing.map(([, name]) => name).join(', ')}`);
  return values;
}

exports.handler = async (event, context) => {
  const started = Date.now();
  const deadline = deadlineFor(context, started);
  const requestId = (context && context.awsRequestId) || crypto.randomUUID();
  let id;
  try {
    const request = parse(event);
    id = request.id;
    const { table, bucket, cdnDomain } = config();
    const item = await read(table, id, deadline);
    const key = resultKey(id, requestId);
    const result = { item, payload: request.payload, processedAt: new Date().toISOString(), requestId };
    await write(bucket, key, result, deadline);
    log({ level: 'INFO', requestId, id, status: 200, durationMs: Date.now() - started, key });
    return respond(200, { key, url: `https://${cdnDomain}/${key}`, requestId });
  } catch (error) {
    if (error instanceof ClientError) {
      log({ level: 'WARN', requestId, id, status: error.status, durationMs: Date.now() - started, error: error.code });
      return respond(error.status, { error: error.code, message: error.message, requestId }, error.headers);
    }
    const failure = classify(error);
    // The line the stack's handler-errors metric filter counts (src/contract.json, errorLine).
    log({
      [ERROR_LINE.field]: ERROR_LINE.value,
      requestId,
      id,
      status: failure.status,
      durationMs: Date.now() - started,
      error: failure.code,
      cause: { name: failure.name, message: error && error.message, stack: error && error.stack },
    });
    return respond(failure.status, { error: failure.code, message: failure.message, requestId });
  }
};
