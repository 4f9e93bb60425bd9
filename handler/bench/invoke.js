'use strict';
// Benchmark (not a test): cold require time of the handler, its first invocation, and p50/p95 of
// 200 sequential invocations against a moto server on loopback.
//   make bench-handler    (or: cd handler && npm run bench -- 500)

const { execFileSync } = require('child_process');
const path = require('path');

const { arrange } = require('../test/support/emulator');
const { invoke, proxyEvent } = require('../test/support/invoke');

const INVOCATIONS = Number(process.argv[2] || 200);
const COLD_RUNS = 5;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// In a fresh node process (nothing cached): require the handler, then invoke it once.
const COLD_SCRIPT = `
const { output } = require('./src/log');
output.write = () => true;
const t0 = process.hrtime.bigint();
const { handler } = require('./index.js');
const t1 = process.hrtime.bigint();
const event = { httpMethod: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"bench"}' };
handler(event, { awsRequestId: 'cold' }).then((response) => {
  if (response.statusCode !== 200) throw new Error(response.body);
  const t2 = process.hrtime.bigint();
  process.stdout.write(JSON.stringify([Number(t1 - t0) / 1e6, Number(t2 - t1) / 1e6]));
});`;

function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

function coldStart() {
  const runs = Array.from({ length: COLD_RUNS }, () =>
    JSON.parse(execFileSync(process.execPath, ['-e', COLD_SCRIPT], { cwd: path.join(__dirname, '..') })));
  return { requireMs: median(runs.map(([r]) => r)), firstInvokeMs: median(runs.map(([, f]) => f)) };
}

async function main() {
  const { emulator } = await arrange({
    table: 'bench-items',
    bucket: 'bench-results',
    item: { id: { S: 'bench' }, value: { N: '1' } },
    cdnDomain: 'cdn.example',
  });
  try {

    const cold = coldStart();
    const { handler } = require('../index.js');

    const durations = [];
    for (let n = 1; n <= INVOCATIONS; n += 1) {
      const start = process.hrtime.bigint();
      const result = await invoke(handler, proxyEvent({ id: 'bench', payload: { n } }));
      durations.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (result.status !== 200) throw new Error(`invocation ${n} answered ${result.status}`);
    }
    durations.sort((a, b) => a - b);
    console.log(`node ${process.version}, ${require('os').cpus().length} cores; moto on loopback`);
    console.log(`cold start, median of ${COLD_RUNS} fresh node processes: require ${cold.requireMs.toFixed(1)} ms, first invocation ${cold.firstInvokeMs.toFixed(1)} ms (loads SDK v3, connects)`);
    console.log(`${INVOCATIONS} sequential invocations: p50 ${percentile(durations, 50).toFixed(1)} ms, p95 ${percentile(durations, 95).toFixed(1)} ms, max ${durations[durations.length - 1].toFixed(1)} ms`);
  } finally {
    await emulator.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
