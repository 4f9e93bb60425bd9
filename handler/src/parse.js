'use strict';
// parse: turns an API Gateway proxy event into { id, payload } or throws a ClientError.

const { ClientError } = require('./errors');

const MAX_BODY_BYTES = 256 * 1024;
// Letters, digits and . _ : - ; starts with a letter or digit; no "..", so the id can never
// climb out of (or fake) its place under the result key prefix.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;
const ALLOWED_FIELDS = new Set(['id', 'payload']);

function header(event, name) {
  const headers = event.headers || {};
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function method(event) {
  return event.httpMethod || (event.requestContext && event.requestContext.http && event.requestContext.http.method);
}

function isJsonContentType(value) {
  const mediaType = String(value || '').split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parse(event) {
  if (!isPlainObject(event)) throw new ClientError(400, 'InvalidRequest', 'The request is not an API Gateway proxy event.');
  if (method(event) !== 'POST') {
    throw new ClientError(405, 'MethodNotAllowed', 'Only POST is supported.', { Allow: 'POST' });
  }
  if (!isJsonContentType(header(event, 'content-type'))) {
    throw new ClientError(415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
  }
  const raw = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (raw.length > MAX_BODY_BYTES) {
    throw new ClientError(413, 'PayloadTooLarge', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  }

  let request;
  try {
    request = JSON.parse(raw.toString('utf8'));
  } catch (_) {
    throw new ClientError(400, 'InvalidJson', 'The body must be valid JSON.');
  }
  if (!isPlainObject(request)) throw new ClientError(400, 'InvalidBody', 'The body must be a JSON object.');
  const unknown = Object.keys(request).filter((field) => !ALLOWED_FIELDS.has(field));
  if (unknown.length) throw new ClientError(400, 'UnknownField', `Unknown field(s): ${unknown.join(', ')}.`);
  if (request.id === undefined) throw new ClientError(400, 'MissingId', 'The body must have an "id".');
  if (typeof request.id !== 'string' || !ID_PATTERN.test(request.id) || request.id.includes('..')) {
    throw new ClientError(
      400,
      'InvalidId',
      '"id" must be a string of 1-256 letters, digits, ".", "_", ":" or "-", starting with a letter or digit, without "..".',
    );
  }
  if (request.payload !== undefined && !isPlainObject(request.payload)) {
    throw new ClientError(400, 'InvalidPayload', '"payload" must be a JSON object when present.');
  }
  return { id: request.id, payload: request.payload === undefined ? null : request.payload };
}

module.exports = { parse, MAX_BODY_BYTES };
