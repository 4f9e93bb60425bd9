'use strict';
// The time a request may spend on AWS calls: what Lambda says is left, less a margin to log and
// answer, so a slow dependency gets a contract 504 and an ERROR line instead of Lambda's timeout
// (which API Gateway turns into a bare 502 with no log line for the alarms).

const SAFETY_MARGIN_MS = 1000;
// When the context cannot say (a local run): the function's configured timeout is 10 s.
const DEFAULT_BUDGET_MS = 8000;

/** A dependency did not answer before the request's deadline. */
class DeadlineExceeded extends Error {
  constructor(operation) {
    super(`${operation} did not answer before the request's deadline`);
    this.name = 'DeadlineExceeded';
  }
}

/** The deadline (epoch ms) for AWS calls of the request that `context` belongs to. */
function deadlineFor(context, now = Date.now()) {
  const remaining = context && typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : NaN;
  const budget = Number.isFinite(remaining) ? remaining - SAFETY_MARGIN_MS : DEFAULT_BUDGET_MS;
  return now + Math.max(0, budget);
}

module.exports = { DeadlineExceeded, deadlineFor, SAFETY_MARGIN_MS };
