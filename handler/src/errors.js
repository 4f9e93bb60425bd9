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
// The dependency could not be reached, or dropped the connection.
const UNREACHABLE = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'NetworkingError']);
// No answer in time: our deadline, an SDK abort or socket timeout.
const TIMED_OUT = new Set(['DeadlineExceeded', 'AbortError', 'RequestAbortedError', 'TimeoutError', 'ETIMEDOUT', 'RequestTimeout']);

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
  const unreachable = UNREACHABLE.has(name) || UNREACHABLE.has(code) || SOCKET_FAILURE.test(String(error && error.message));
  if (THROTTLING.has(name) || THROTTLING.has(code) || unreachable) {
    return { status: 503, code: 'ServiceUnavailable', message: 'The service is busy or unreachable; retry later.', name };
  }
  if (TIMED_OUT.has(name) || TIMED_OUT.has(code)) {
    return { status: 504, code: 'Timeout', message: 'The service did not answer in time; retry later.', name };
  }
  return { status: 500, code: 'InternalError', message: 'The request could not be processed.', name };
}

module.exports = { ClientError, NotFoundError, classify };
