'use strict';
// read: the item from DynamoDB; write: the result object to S3.
//
// How an item becomes JSON (the result's "item"): S, BOOL, NULL, L and M as themselves; N as a
// number when a JSON number holds it exactly, otherwise as the decimal string DynamoDB returned
// (a long decimal never silently loses digits); B as {"$binary": "<base64>"} (JSON has no binary
// type, and a bare base64 string would read as an S); SS, NS and BS as arrays in the order
// DynamoDB returns them, their elements converted as above. Attribute names are kept as own
// keys, "__proto__" included.

const crypto = require('crypto');
const { aws } = require('./aws');
const { NotFoundError } = require('./errors');

/** A decimal string in one canonical form ("-123e-2"), so "1.50" and "1.5" compare equal. */
function canonicalDecimal(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return null;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (!digits) return '0';
  const significant = digits.replace(/0+$/, '');
  const scale = Number(exponent) - fraction.length + (digits.length - significant.length);
  return `${sign === '-' ? '-' : ''}${significant}e${scale}`;
}

function fromNumber(text) {
  const number = Number(text);
  return Number.isFinite(number) && canonicalDecimal(String(number)) === canonicalDecimal(text) ? number : text;
}

function fromAttribute(value) {
  const [type, inner] = Object.entries(value)[0];
  switch (type) {
    case 'S':
    case 'BOOL':
      return inner;
    case 'N':
      return fromNumber(inner);
    case 'B':
      return { $binary: inner };
    case 'NULL':
      return null;
    case 'L':
      return inner.map(fromAttribute);
    case 'M':
      return fromItem(inner);
    case 'SS':
      return [...inner];
    case 'NS':
      return inner.map(fromNumber);
    case 'BS':
      return inner.map((element) => ({ $binary: element }));
    default:
      throw new TypeError(`Unsupported DynamoDB attribute type ${type}`);
  }
}

/** DynamoDB JSON (as the API returns it) to plain JSON; Object.fromEntries keeps "__proto__" an own key. */
function fromItem(item) {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, fromAttribute(value)]));
}

async function read(table, id, deadline) {
  const result = await aws().getItem({ TableName: table, Key: { id: { S: id } } }, deadline);
  if (!result.Item) throw new NotFoundError(id);
  return fromItem(result.Item);
}

function resultKey(id, requestId) {
  return `results/${id}/${requestId}.json`;
}

async function write(bucket, key, result, deadline) {
  const body = JSON.stringify(result);
  await aws().putObject(
    {
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      // The bucket has Object Lock, which refuses writes without an integrity checksum.
      ContentMD5: crypto.createHash('md5').update(body).digest('base64'),
    },
    deadline,
  );
}

module.exports = { read, write, resultKey, fromItem, canonicalDecimal };
