'use strict';
// parse: turns an API Gateway proxy event into { id, payload } or throws a ClientError.

const { ClientError } = require('./errors');

// The body limit and the id rule have one home, shared with the stack: src/contract.json.
const CONTRACT = require('./contract.json');
const MAX_BODY_BYTES = CONTRACT.maxBodyBytes;
const ID_RULE = CONTRACT.idRule;
const ID_PATTERN = new RegExp(ID_RULE.pattern);
const ALLOWED_FIELDS = new Set(['id', 'payload']);
// Nesting levels of `payload` (itself level 1). JSON.stringify recurses, and a few thousand
// levels overflow its stack; DynamoDB allows 32 for items.
const MAX_PAYLOAD_DEPTH = 64;
// Base64 as API Gateway writes it: the standard alphabet, padded to a multiple of 4, nothing
// else. (A linear pattern: a grouped one overflows V8's regex stack on megabytes of input.)
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_BASE64_CHARS = 4 * Math.ceil(MAX_BODY_BYTES / 3);

function validId(id) {
  return (
    typeof id === 'string' &&
    id.length >= ID_RULE.minLength &&
    id.length <= ID_RULE.maxLength &&
    ID_PATTERN.test(id) &&
    !id.includes(ID_RULE.forbidden)
  );
}

/** A header's value: `headers` first, then the last of `multiValueHeaders` (API Gateway fills both). */
function header(event, name) {
  for (const [source, pick] of [
    [event.headers, (value) => value],
    [event.multiValueHeaders, (values) => (Array.isArray(values) ? values[values.length - 1] : undefined)],
  ]) {
    if (!isPlainObject(source)) continue;
    const key = Object.keys(source).find((candidate) => candidate.toLowerCase() === name);
    if (key !== undefined && source[key] != null) return pick(source[key]);
  }
  return undefined;
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

function tooLarge() {
  return new ClientError(413, 'PayloadTooLarge', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
}

/** The body's bytes: text as UTF-8, or strictly decoded base64 when API Gateway says so. */
function bodyBytes(event) {
  const { body, isBase64Encoded } = event;
  if (body == null) return Buffer.alloc(0);
  if (typeof body !== 'string') throw new ClientError(400, 'InvalidRequest', 'The request body must be a string.');
  if (isBase64Encoded !== true && isBase64Encoded !== false && isBase64Encoded != null) {
    throw new ClientError(400, 'InvalidRequest', '"isBase64Encoded" must be true or false.');
  }
  if (isBase64Encoded !== true) {
    if (body.length > MAX_BODY_BYTES) throw tooLarge(); // each UTF-16 unit is at least one byte
    return Buffer.from(body, 'utf8');
  }
  if (body.length > MAX_BASE64_CHARS) throw tooLarge();
  // Node's decoder skips what it does not recognise; a strict check first.
  if (body.length % 4 !== 0 || !BASE64.test(body)) throw new ClientError(400, 'InvalidBase64', 'The body is not valid base64.');
  if ((body.length / 4) * 3 - (body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0) > MAX_BODY_BYTES) throw tooLarge();
  return Buffer.from(body, 'base64');
}

/** Whether `value` nests deeper than `limit` levels (iterative: deep input must not recurse). */
function nestsDeeperThan(value, limit) {
  const pending = [[value, 1]];
  while (pending.length) {
    const [node, level] = pending.pop();
    if (node === null || typeof node !== 'object') continue;
    if (level > limit) return true;
    for (const child of Object.values(node)) pending.push([child, level + 1]);
  }
  return false;
}

function parse(event) {
  if (!isPlainObject(event) || typeof method(event) !== 'string') {
    throw new ClientError(400, 'InvalidRequest', 'The request is not an API Gateway proxy event.');
  }
  if (method(event) !== 'POST') {
    throw new ClientError(405, 'MethodNotAllowed', 'Only POST is supported.', { Allow: 'POST' });
  }
  if (!isJsonContentType(header(event, 'content-type'))) {
    throw new ClientError(415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
  }
  const raw = bodyBytes(event);
  if (raw.length > MAX_BODY_BYTES) throw tooLarge();
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
    throw new ClientError(400, 'InvalidJson', 'The body must be JSON without a byte order mark.');
  }

  let request;
  try {
    // Duplicate names: the last one wins, at every level (as JSON.parse does).
    request = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ClientError(400, 'InvalidJson', 'The body must be valid JSON.');
  }
  if (!isPlainObject(request)) throw new ClientError(400, 'InvalidBody', 'The body must be a JSON object.');
  const unknown = Object.keys(request).filter((field) => !ALLOWED_FIELDS.has(field));
  if (unknown.length) throw new ClientError(400, 'UnknownField', `Unknown field(s): ${unknown.join(', ')}.`);
  if (request.id === undefined) throw new ClientError(400, 'MissingId', 'The body must have an "id".');
  if (!validId(request.id)) {
    throw new ClientError(
      400,
      'InvalidId',
      `"id" must be a string of ${ID_RULE.minLength}-${ID_RULE.maxLength} ASCII letters, digits, ".", "_", ":" or "-", starting with a letter or digit, without "${ID_RULE.forbidden}".`,
    );
  }
  if (request.payload !== undefined && !isPlainObject(request.payload)) {
    throw new ClientError(400, 'InvalidPayload', '"payload" must be a JSON object when present.');
  }
  if (nestsDeeperThan(request.payload, MAX_PAYLOAD_DEPTH)) {
    throw new ClientError(400, 'PayloadTooDeep', `"payload" must nest at most ${MAX_PAYLOAD_DEPTH} levels.`);
  }
  return { id: request.id, payload: request.payload === undefined ? null : request.payload };
}

module.exports = { parse, MAX_BODY_BYTES, MAX_PAYLOAD_DEPTH };
