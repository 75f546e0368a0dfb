/**
 * The proxy's side of the outcome seam: the interface is declared by health
 * (health/outcomes.ts, its consumer); the proxy only calls it. `noOutcomes`
 * is the sink of a proxy without health (tests, embedders).
 */
import type { OutcomeSink } from '../health/outcomes.js';

export type { OutcomeKind, OutcomeSink } from '../health/outcomes.js';

export const noOutcomes: OutcomeSink = {
  admit: () => 0,
  requestDone() {},
  tryStarted: () => 0,
  onOutcome() {},
  tryEnded() {},
  hedgeDelay: () => undefined,
};
