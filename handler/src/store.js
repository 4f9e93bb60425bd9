'use strict';
// read: the item from DynamoDB; write: the result object to S3.

const crypto = require('crypto');
const { aws } = require('./aws');
const { NotFoundError } = require('./errors');

/** DynamoDB's typed attribute values to plain JSON (numbers kept as strings when unsafe). */
function fromAttribute(value) {
  const [type, inner] = Object.entries(value)[0];
  switch (type) {
    case 'S':
    case 'B':
      return Buffer.isBuffer(inner) || inner instanceof Uint8Array ? Buffer.from(inner).toString('base64') : inner;
    case 'N': {
      const number = Number(inner);
      return Number.isSafeInteger(number) || !Number.isInteger(number) ? number : inner;
    }
    case 'BOOL':
      return inner;
    case 'NULL':
      return null;
    case 'L':
      return inner.map(fromAttribute);
    case 'M':
      return fromItem(inner);
    case 'SS':
    case 'NS':
    case 'BS':
      return [...inner].map((element) => fromAttribute({ [type[0]]: element }));
    default:
      throw new TypeError(`Unsupported DynamoDB attribute type ${type}`);
  }
}

function fromItem(item) {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, fromAttribute(value)]));
}

async function read(table, id) {
  const result = await aws().getItem({ TableName: table, Key: { id: { S: id } } });
  if (!result.Item) throw new NotFoundError(id);
  return fromItem(result.Item);
}

function resultKey(id, requestId) {
  return `results/${id}/${requestId}.json`;
}

async function write(bucket, key, result) {
  const body = JSON.stringify(result);
  await aws().putObject({
    Bucket: bucket,
    Key: key,
    Body: body,
    ContentType: 'application/json',
    // The bucket has Object Lock, which refuses writes without an integrity checksum.
    ContentMD5: crypto.createHash('md5').update(body).digest('base64'),
  });
}

module.exports = { read, write, resultKey, fromItem };
