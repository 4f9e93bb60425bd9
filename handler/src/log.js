'use strict';
// One JSON line per request, written to stdout directly: the Lambda runtime prefixes console
// output with a timestamp and level, which would stop CloudWatch reading the line as JSON (the
// handler-errors metric filter matches the error line of src/contract.json). As Powertools' logger does, each
// line carries the X-Ray trace id, and an error's stack goes with it.

const output = { write: (line) => process.stdout.write(line) };

/** The Root of the X-Ray trace header Lambda sets per invocation ("Root=1-...;Parent=...;Sampled=1"). */
function xrayTraceId() {
  const match = /(?:^|;)\s*Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID || '');
  return match ? match[1] : undefined;
}

function log(entry) {
  output.write(`${JSON.stringify({ timestamp: new Date().toISOString(), xrayTraceId: xrayTraceId(), ...entry })}\n`);
}

module.exports = { log, output };
