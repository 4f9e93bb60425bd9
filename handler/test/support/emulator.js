'use strict';
// The project's patched moto server (local_cloud/moto_server.py, the one the Python tests use) on a
// free loopback port, with fake credentials, and helpers to create the table and bucket a test
// needs.

const { spawn } = require('child_process');
const net = require('net');
const path = require('path');
const http = require('http');
const { environment: ENVIRONMENT } = require('../../src/contract.json');

const PROJECT_ROOT = path.join(__dirname, '..', '..', '..');
const PYTHON = process.env.PROJECT_PYTHON || path.join(PROJECT_ROOT, '.venv', 'bin', 'python');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function answers(url) {
  return new Promise((resolve) => {
    http.get(url, (response) => {
      response.resume();
      resolve(true);
    }).on('error', () => resolve(false));
  });
}

async function startEmulator() {
  const port = await freePort();
  const child = spawn(PYTHON, ['-m', 'local_cloud.moto_server', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  while (!(await answers(`${endpoint}/moto-api/`))) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    // Fail fast in fault tests: the SDK's retries are not what they test.
    AWS_MAX_ATTEMPTS: '1',
  });
  return {
    endpoint,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Test-side clients (SDK v3) for arranging and inspecting emulator state. */
function testClients() {
  const dynamo = require('@aws-sdk/client-dynamodb');
  const s3 = require('@aws-sdk/client-s3');
  const db = new dynamo.DynamoDBClient({});
  const bucket = new s3.S3Client({ forcePathStyle: true });
  return {
    async createTable(name) {
      await db.send(new dynamo.CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }));
    },
    putItem: (table, item) => db.send(new dynamo.PutItemCommand({ TableName: table, Item: item })),
    // PutItem with the item as raw DynamoDB JSON: the SDK's serializer would turn an attribute
    // named "__proto__" into a prototype. moto does not check signatures.
    async putRawItem(table, itemJson) {
      const response = await fetch(`${process.env.AWS_ENDPOINT_URL}/`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': 'DynamoDB_20120810.PutItem',
          Authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: `{"TableName":${JSON.stringify(table)},"Item":${itemJson}}`,
      });
      if (response.status !== 200) throw new Error(`PutItem ${response.status}: ${await response.text()}`);
    },
    async countObjects(name) {
      const listed = await bucket.send(new s3.ListObjectVersionsCommand({ Bucket: name }));
      return (listed.Versions || []).length;
    },
    createBucket: (name) => bucket.send(new s3.CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true })),
    async listKeys(name) {
      const listed = await bucket.send(new s3.ListObjectsV2Command({ Bucket: name }));
      return (listed.Contents || []).map((object) => object.Key);
    },
    async readJson(name, key) {
      const object = await bucket.send(new s3.GetObjectCommand({ Bucket: name, Key: key }));
      return JSON.parse(await object.Body.transformToString());
    },
  };
}

/** An emulator holding one table (with `item`) and one bucket, and the handler's environment aimed at them. */
async function arrange({ table, bucket, item, cdnDomain }) {
  const emulator = await startEmulator();
  const aws = testClients();
  await aws.createTable(table);
  await aws.createBucket(bucket);
  await aws.putItem(table, item);
  Object.assign(process.env, configuredFor({ table, bucket, cdnDomain }));
  return { emulator, aws };
}

/** The handler's environment for these settings, by their names in src/contract.json (its one home). */
function configuredFor(settings) {
  return Object.fromEntries(Object.entries(settings).map(([setting, value]) => [ENVIRONMENT[setting], value]));
}

module.exports = { arrange, configuredFor, startEmulator, testClients };
