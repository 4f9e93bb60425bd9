'use strict';
// POST /process: parse → read (DynamoDB GetItem) → write (S3 PutObject) → respond.
// Uses the AWS SDK v3 bundled with nodejs18.x+ and falls back to v2 (nodejs14.x/16.x).

const crypto = require('crypto');

// Loaded on first use, so requests refused at parse time never pay for the SDK.
let sdk;
const client = () => sdk || (sdk = loadSdk());

function loadSdk() {
  try {
    const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
    const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
    const dynamo = new DynamoDBClient({});
    const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
    return {
      version: 3,
      getItem: (params) => dynamo.send(new GetItemCommand(params)),
      putObject: (params) => s3.send(new PutObjectCommand(params)),
    };
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    const AWS = require('aws-sdk');
    // v2 ignores AWS_ENDPOINT_URL, so pass it explicitly.
    const endpoint = process.env.AWS_ENDPOINT_URL;
    const dynamo = new AWS.DynamoDB(endpoint ? { endpoint } : {});
    const s3 = new AWS.S3(endpoint ? { endpoint, s3ForcePathStyle: true } : {});
    return {
      version: 2,
      getItem: (params) => dynamo.getItem(params).promise(),
      putObject: (params) => s3.putObject(params).promise(),
    };
  }
}

class ClientError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

function parse(event) {
  let request;
  try {
    request = JSON.parse(event.body || '');
  } catch (_) {
    throw new ClientError(400, 'InvalidJson', 'The body must be JSON.');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new ClientError(400, 'InvalidBody', 'The body must be a JSON object.');
  }
  if (typeof request.id !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(request.id)) {
    throw new ClientError(400, 'InvalidId', 'id must be 1-256 letters, digits, "_" or "-".');
  }
  return { id: request.id, payload: request.payload === undefined ? null : request.payload };
}

async function read(id) {
  const result = await client().getItem({ TableName: process.env.TABLE_NAME, Key: { id: { S: id } } });
  if (!result.Item) throw new ClientError(404, 'NotFound', `No item with id ${id}.`);
  return result.Item;
}

async function write(id, requestId, item, payload) {
  const key = `results/${id}/${requestId}.json`;
  const body = JSON.stringify({ item, payload, processedAt: new Date().toISOString(), requestId });
  await client().putObject({
    Bucket: process.env.BUCKET_NAME,
    Key: key,
    Body: body,
    ContentType: 'application/json',
    // Object Lock buckets require an integrity checksum on every write.
    ContentMD5: crypto.createHash('md5').update(body).digest('base64'),
  });
  return key;
}

function respond(status, body) {
  return { statusCode: status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

exports.handler = async (event, context) => {
  const requestId = (context && context.awsRequestId) || crypto.randomUUID();
  try {
    const { id, payload } = parse(event || {});
    const item = await read(id);
    const key = await write(id, requestId, item, payload);
    console.log(JSON.stringify({ level: 'INFO', requestId, id, status: 200 }));
    return respond(200, { key, url: `https://${process.env.CDN_DOMAIN}/${key}`, requestId });
  } catch (error) {
    if (error instanceof ClientError) {
      console.log(JSON.stringify({ level: 'WARN', requestId, status: error.status, error: error.error }));
      return respond(error.status, { error: error.error, message: error.message, requestId });
    }
    console.log(JSON.stringify({ level: 'ERROR', requestId, status: 500, error: error.name, message: error.message }));
    return respond(500, { error: 'InternalError', message: 'The request could not be processed.', requestId });
  }
};

exports.parse = parse;
