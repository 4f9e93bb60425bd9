'use strict';
// The two AWS calls the handler makes, on SDK v3 (bundled with nodejs18.x and later) or, where
// it is absent, SDK v2 (bundled with nodejs14.x/16.x). Both are loaded on first use, so requests
// refused while parsing never pay for them.

function customEndpoint() {
  return process.env.AWS_ENDPOINT_URL || undefined;
}

function v3() {
  const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
  const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
  const dynamo = new DynamoDBClient({});
  // A custom endpoint (the local emulator) has no bucket subdomains.
  const s3 = new S3Client({ forcePathStyle: Boolean(customEndpoint()) });
  return {
    generation: 3,
    getItem: (params) => dynamo.send(new GetItemCommand(params)),
    putObject: (params) => s3.send(new PutObjectCommand(params)),
  };
}

function v2() {
  const AWS = require('aws-sdk');
  // SDK v2 ignores AWS_ENDPOINT_URL: pass it explicitly.
  const endpoint = customEndpoint();
  const dynamo = new AWS.DynamoDB(endpoint ? { endpoint } : {});
  const s3 = new AWS.S3(endpoint ? { endpoint, s3ForcePathStyle: true } : {});
  return {
    generation: 2,
    getItem: (params) => dynamo.getItem(params).promise(),
    putObject: (params) => s3.putObject(params).promise(),
  };
}

function isMissing(error, name) {
  return error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(`'${name}'`);
}

let clients;

function aws() {
  if (!clients) {
    try {
      clients = v3();
    } catch (error) {
      if (!isMissing(error, '@aws-sdk/client-dynamodb') && !isMissing(error, '@aws-sdk/client-s3')) throw error;
      clients = v2();
    }
  }
  return clients;
}

module.exports = { aws };
