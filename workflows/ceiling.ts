/**
 * The operator's ceiling for each rate bucket (ZENDESK_RATE_CEILING, read by the worker): no budget,
 * share or window a client asks for goes above it. A budget of r requests per s seconds keeps within
 * a ceiling of R per S when r <= R and s >= S: any window of S seconds then holds at most r requests.
 * Pure.
 */
import type { RateBudget } from '../zendesk/endpoints';
import type { PaceState } from './pacing';

/** `budget`, or the nearest budget within `ceiling` (fewer requests, a longer window). */
export function underCeiling(budget: RateBudget, ceiling: RateBudget | undefined): RateBudget {
  if (!ceiling || (budget.requests <= ceiling.requests && budget.seconds >= ceiling.seconds)) return budget;
  return { requests: Math.min(budget.requests, ceiling.requests), seconds: Math.max(budget.seconds, ceiling.seconds) };
}

/** A pace whose budget keeps within the ceiling and whose share never exceeds its budget. */
export function paceUnderCeiling(pace: PaceState, ceiling: RateBudget | undefined): PaceState {
  const budget = underCeiling(pace.budget, ceiling);
  const share = Math.min(pace.share, budget.requests);
  return budget === pace.budget && share === pace.share ? pace : { ...pace, budget, share, sent: pace.sent.slice(-Math.max(1, share)) };
}
