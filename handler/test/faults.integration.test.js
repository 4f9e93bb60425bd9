'use strict';
// Slow and failing dependencies, on both SDK generations: a black hole (accepts the connection,
// never answers), a connection reset, and DynamoDB throttling. Each must answer the contract
// (JSON error, 503/504) within the time Lambda gives it, with exactly one ERROR line.

const test = require('node:test');
const assert = require('node:assert');
const net = require('net');
const path = require('path');
const { configuredFor } = require('./support/emulator');
const { execFile } = require('child_process');

const { proxyEvent } = require('./support/invoke');
const { SAFETY_MARGIN_MS } = require('../src/budget');

const RUN_ONCE = path.join(__dirname, 'support', 'run-once.js');

// What the fault server received: one entry per HTTP request (attempt).
let requests = 0;

const BEHAVIOURS = {
  // Reads the request, never writes a byte back.
  blackHole: (socket) => socket.on('data', () => {}),
  reset: (socket) => socket.on('data', () => socket.resetAndDestroy()),
  unavailable: (socket) => {
    socket.on('data', () => {
      const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', message: 'unavailable' });
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `x-amzn-RequestId: fault\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  },
  throttle: (socket) => {
    socket.on('data', () => {
      const body = JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `x-amzn-RequestId: fault\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  },
};

function faultServer(behaviour) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => (requests += 1));
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      BEHAVIOURS[behaviour](socket);
    });
    server.listen(0, '127.0.0.1', () => {
      resolve({
        endpoint: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => {
          for (const socket of sockets) socket.destroy();
          server.close(done);
        }),
      });
    });
  });
}

async function closedPort() {
  const server = await faultServer('blackHole');
  await server.close();
  return { endpoint: server.endpoint, close: async () => {} };
}

function runOnce(endpoint, { remainingMs, sdk }) {
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    ...configuredFor({ table: 'items', bucket: 'results', cdnDomain: 'cdn.example' }),
    REMAINING_MS: String(remainingMs),
    HIDE_SDK_V3: sdk === 2 ? '1' : '0',
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  };
  delete env.AWS_MAX_ATTEMPTS; // the handler's own retry policy is under test
  return new Promise((resolve, reject) => {
    execFile('node', [RUN_ONCE, JSON.stringify(proxyEvent({ id: 'item-1' }))], { env, timeout: remainingMs + 5000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

const CASES = [
  // [fault, Lambda's remaining time, expected status, expected code, attempts (undefined: any)]
  ['blackHole', 2500, 504, 'Timeout', 1],
  ['reset', 8000, 503, 'ServiceUnavailable', undefined],
  ['throttle', 8000, 503, 'ServiceUnavailable', 3],
  ['unavailable', 8000, 503, 'ServiceUnavailable', 3],
  ['refused', 8000, 503, 'ServiceUnavailable', 0],
];

for (const sdk of [3, 2]) {
  for (const [fault, remainingMs, status, code, attempts] of CASES) {
    test(`SDK v${sdk}: ${fault} answers ${status} ${code} within Lambda's time, with one ERROR line`, async () => {
      // "refused": a port that was free a moment ago, with nothing listening.
      const server = fault === 'refused' ? await closedPort() : await faultServer(fault);
      requests = 0;
      try {
        const result = await runOnce(server.endpoint, { remainingMs, sdk });
        assert.strictEqual(result.status, status, JSON.stringify(result));
        assert.deepStrictEqual(Object.keys(result.body).sort(), ['error', 'message', 'requestId']);
        assert.strictEqual(result.body.error, code);
        assert.ok(result.elapsedMs < remainingMs - SAFETY_MARGIN_MS / 2, `answered after ${result.elapsedMs} ms`);
        assert.strictEqual(result.logs.length, 1);
        assert.strictEqual(result.logs[0].level, 'ERROR');
        assert.strictEqual(result.logs[0].status, status);
        assert.ok(result.logs[0].cause.stack, 'the ERROR line carries the stack');
        if (attempts !== undefined) assert.strictEqual(requests, attempts, 'attempts');
      } finally {
        await server.close();
      }
    });
  }
}
