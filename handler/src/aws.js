'use strict';
// The two AWS calls the handler makes, on SDK v3 (bundled with nodejs18.x and later) or, where
// it is absent, SDK v2 (bundled with nodejs14.x/16.x). Both are loaded on first use, so requests
// refused while parsing never pay for them.
//
// Every call runs against a deadline (budget.js): a call still unanswered then is aborted and
// fails with DeadlineExceeded, so a black-holed endpoint or a throttling storm is answered
// before Lambda's own timeout. Retries stay within the deadline: 3 attempts on both SDKs.
//
// GetItem's item is read from the raw HTTP body. Both SDKs build items by plain property
// assignment, which treats an attribute named "__proto__" as the object's prototype: v3 yields a
// value nothing can read, v2 drops the attribute. JSON.parse keeps it as an own key.

const { DeadlineExceeded } = require('./budget');

// The SDKs announce their own support deadlines on stderr once per process; those lines would
// sit among the one-JSON-line-per-request log. The operator picks the runtime, not the handler.
for (const name of ['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']) {
  if (process.env[name] === undefined) process.env[name] = name.endsWith('MESSAGE') ? '1' : 'true';
}

const CONNECT_TIMEOUT_MS = 1000;
const MAX_ATTEMPTS = 3;

function customEndpoint() {
  return process.env.AWS_ENDPOINT_URL || undefined;
}

/** Runs `start()`, calling `cancel()` and rejecting with DeadlineExceeded at `deadline` (epoch ms). */
function beforeDeadline(operation, deadline, start, cancel) {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(new DeadlineExceeded(operation));
  let timer;
  const expired = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(new DeadlineExceeded(operation));
    }, remaining);
  });
  return Promise.race([Promise.resolve().then(start), expired]).finally(() => clearTimeout(timer));
}

async function bytesOf(body) {
  if (body instanceof Uint8Array) return body;
  if (typeof body.transformToByteArray === 'function') return body.transformToByteArray();
  const chunks = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function parseBody(bytes) {
  try {
    return JSON.parse(Buffer.from(bytes || []).toString('utf8'));
  } catch (error) {
    throw new Error(`GetItem answered 200 with a body that is not JSON (${error.message})`, { cause: error });
  }
}

function v3() {
  const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
  const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
  // v3's DynamoDB client defaults to 4 attempts.
  const dynamo = new DynamoDBClient({ maxAttempts: MAX_ATTEMPTS });
  // A custom endpoint (the local emulator) has no bucket subdomains.
  const s3 = new S3Client({ maxAttempts: MAX_ATTEMPTS, forcePathStyle: Boolean(customEndpoint()) });

  function send(client, command, operation, deadline) {
    const controller = new AbortController();
    return beforeDeadline(
      operation,
      deadline,
      () => client.send(command, { abortSignal: controller.signal }),
      () => controller.abort(),
    );
  }

  return {
    generation: 3,
    async getItem(params, deadline) {
      const command = new GetItemCommand(params);
      let raw;
      // Inside the deserializer (lower priority in the same step): sees each attempt's raw
      // response first and hands the SDK the same bytes.
      command.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const { response } = result;
          if (response && response.statusCode === 200 && response.body) {
            const bytes = await bytesOf(response.body);
            response.body = bytes;
            raw = bytes;
          }
          return result;
        },
        { step: 'deserialize', priority: 'low', name: 'rawGetItemBody' },
      );
      await send(dynamo, command, 'GetItem', deadline);
      return parseBody(raw);
    },
    putObject: (params, deadline) => send(s3, new PutObjectCommand(params), 'PutObject', deadline),
  };
}

function v2() {
  const AWS = require('aws-sdk');
  // SDK v2 ignores AWS_ENDPOINT_URL: pass it explicitly. Its DynamoDB default of 10 retries
  // (up to ~25 s of backoff) would outlast the function.
  const endpoint = customEndpoint();
  const common = { maxRetries: MAX_ATTEMPTS - 1, httpOptions: { connectTimeout: CONNECT_TIMEOUT_MS } };
  const dynamo = new AWS.DynamoDB({ ...common, ...(endpoint ? { endpoint } : {}) });
  const s3 = new AWS.S3({ ...common, ...(endpoint ? { endpoint, s3ForcePathStyle: true } : {}) });

  function send(request, operation, deadline) {
    return beforeDeadline(operation, deadline, () => request.promise(), () => request.abort());
  }

  return {
    generation: 2,
    async getItem(params, deadline) {
      const data = await send(dynamo.getItem(params), 'GetItem', deadline);
      return parseBody(data.$response.httpResponse.body);
    },
    putObject: (params, deadline) => send(s3.putObject(params), 'PutObject', deadline),
  };
}

function isMissing(error, name) {
  return error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(`'${name}'`);
}

let clients;

function aws() {
  if (!clients) {
    try {
      clients = v3();
    } catch (error) {
      if (!isMissing(error, '@aws-sdk/client-dynamodb') && !isMissing(error, '@aws-sdk/client-s3')) throw error;
      clients = v2();
    }
  }
  return clients;
}

module.exports = { aws };
