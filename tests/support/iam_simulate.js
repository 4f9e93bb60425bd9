'use strict';
// Evaluates AWS IAM requests with @cloud-copilot/iam-simulate, an evaluator written apart from
// this project: reads a JSON list of simulations on stdin, writes one decision per simulation
// ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied") as a JSON list on stdout.
const { runSimulation, anonymousPrincipal } = require('@cloud-copilot/iam-simulate');

async function decide(simulation) {
  const { principal, action, resource, account, context, resourcePolicy, identityPolicies } = simulation;
  const result = await runSimulation(
    {
      request: {
        principal: principal === 'anonymous' ? anonymousPrincipal : principal,
        action,
        resource: { resource, accountId: account },
        contextVariables: context || {},
      },
      identityPolicies: (identityPolicies || []).map((policy, index) => ({ name: `identity-${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy || undefined,
    },
    {},
  );
  if (result.resultType !== 'single') {
    throw new Error(`cannot simulate ${JSON.stringify(simulation)}: ${JSON.stringify(result).slice(0, 2000)}`);
  }
  // A context key the evaluator ignores would decide the request as if it were absent.
  const ignored = result.result.ignoredContextKeys || [];
  if (ignored.length) throw new Error(`the evaluator ignores ${ignored.join(', ')} for ${action}`);
  return result.result.analysis.result;
}

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const decisions = [];
  for (const simulation of JSON.parse(input)) decisions.push(await decide(simulation));
  process.stdout.write(JSON.stringify(decisions));
});
