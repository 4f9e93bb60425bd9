'use strict';
// One JSON line per request, written to stdout directly: the Lambda runtime prefixes console
// output with a timestamp and level, which would stop CloudWatch reading the line as JSON (the
// handler-errors metric filter matches { $.level = "ERROR" }).

const output = { write: (line) => process.stdout.write(line) };

function log(entry) {
  output.write(`${JSON.stringify({ timestamp: new Date().toISOString(), ...entry })}\n`);
}

module.exports = { log, output };
