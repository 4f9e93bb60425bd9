'use strict';
// respond: an API Gateway proxy response with a JSON body.

function respond(status, body, headers = {}) {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

module.exports = { respond };
