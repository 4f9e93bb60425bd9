'use strict';
// Drives the handler the way API Gateway's proxy integration does, capturing its log lines.

const { output } = require('../../src/log');

let counter = 0;

function proxyEvent(body, overrides = {}) {
  return {
    resource: '/process',
    path: '/process',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { stage: 'v1', requestId: 'api-request' },
    ...overrides,
  };
}

async function invoke(handler, event) {
  const lines = [];
  const write = output.write;
  output.write = (line) => lines.push(line);
  let response;
  try {
    counter += 1;
    response = await handler(event, { awsRequestId: `req-${process.pid}-${counter}` });
  } finally {
    output.write = write;
  }
  const logs = lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(response.body), logs };
}

module.exports = { proxyEvent, invoke };
