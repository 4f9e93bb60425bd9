'use strict';

/** A request the client must fix: answered with its status and a JSON error body. */
class ClientError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.name = 'ClientError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The item the request names does not exist. */
class NotFoundError extends ClientError {
  constructor(id) {
    super(404, 'NotFound', `No item with id "${id}".`);
  }
}

// "AWS is busy, try later", once the SDK's retries are spent.
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
]);
// The dependency could not be reached, or dropped the connection. SDK v2 renames most socket
// errors "UnknownEndpoint" (its DNS check matches any numeric errno).
const UNREACHABLE = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'NetworkingError',
  'UnknownEndpoint',
]);
// AWS said it is unavailable or failed on its side, and the retries did not get through.
const UNAVAILABLE = new Set(['ServiceUnavailable', 'InternalServerError', 'InternalError', 'InternalFailure']);
// No answer in time: our deadline, an SDK abort or socket timeout.
const TIMED_OUT = new Set(['DeadlineExceeded', 'AbortError', 'RequestAbortedError', 'TimeoutError', 'ETIMEDOUT', 'RequestTimeout']);

function httpStatusOf(error) {
  if (!error) return undefined;
  return (error.$metadata && error.$metadata.httpStatusCode) || error.statusCode;
}

function nameOf(error) {
  if (!error) return 'Error';
  if ((error.name === 'Error' || !error.name) && error.code) return error.code;
  return error.name || error.code || 'Error';
}

// SDK v2 reports a reset or broken pipe as code "TimeoutError" (to retry it); the socket's own
// code survives only in the message.
const SOCKET_FAILURE = /\b(ECONNRESET|EPIPE|ECONNREFUSED)\b/;

/** Status and public code for an unexpected failure; internals never reach the client. */
function classify(error) {
  const name = nameOf(error);
  const code = error && error.code;
  const original = error && error.originalError && error.originalError.code;
  const among = (set, ...keys) => keys.some((key) => set.has(key));
  const unreachable = among(UNREACHABLE, name, code, original) || SOCKET_FAILURE.test(String(error && error.message));
  const unavailable = among(UNAVAILABLE, name, code) || httpStatusOf(error) >= 500;
  if (among(THROTTLING, name, code) || unreachable || unavailable) {
    return { status: 503, code: 'ServiceUnavailable', message: 'The service is busy or unavailable; retry later.', name };
  }
  if (among(TIMED_OUT, name, code)) {
    return { status: 504, code: 'Timeout', message: 'The service did not answer in time; retry later.', name };
  }
  return { status: 500, code: 'InternalError', message: 'The request could not be processed.', name };
}

module.exports = { ClientError, NotFoundError, classify };
