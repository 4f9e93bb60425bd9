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

// Errors that mean "AWS is busy, try later" once the SDK's own retries are spent.
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
]);

/** Status and public code for an unexpected failure; internals never reach the client. */
function classify(error) {
  const name = error && (error.name === 'Error' && error.code ? error.code : error.name || error.code);
  if (THROTTLING.has(name)) {
    return { status: 503, code: 'ServiceUnavailable', message: 'The service is busy; retry later.', name };
  }
  return { status: 500, code: 'InternalError', message: 'The request could not be processed.', name: name || 'Error' };
}

module.exports = { ClientError, NotFoundError, classify };
