/**
 * The per-target circuit breaker gw adds on top of Kong's passive checks
 * (DESIGN §6): closed → open (ejected) → half-open → closed. Kong's trap is
 * that a target marked unhealthy by passive checks alone never gets traffic
 * again; here the open state ends after a cool-down, and a limited number of
 * trial requests decide.
 *
 * Time is injected (`now`); the owner asks {@link CircuitBreaker.due} or
 * schedules a timer at `until` and calls {@link CircuitBreaker.halfOpen}.
 * Every transition is returned as a {@link BreakerTransition} so the caller
 * logs and counts real flips only.
 */

export interface BreakerConfig {
  /** first cool-down, ms */
  readonly cooldownMs: number;
  /** cap of the doubling cool-down, ms; also how long a closed breaker must stay closed to forget past ejections */
  readonly cooldownMaxMs: number;
  /** trial requests admitted at once while half-open */
  readonly halfOpenMax: number;
}

/** State as a discriminated union: each state carries only its own data. */
export type BreakerState =
  | { readonly state: 'closed'; readonly since: number; readonly attempt: number }
  | { readonly state: 'open'; readonly since: number; readonly until: number; readonly attempt: number }
  | { readonly state: 'half-open'; readonly since: number; readonly inFlight: number; readonly attempt: number };

export type BreakerStateName = BreakerState['state'];

export interface BreakerTransition {
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  readonly reason: string;
}

export class CircuitBreaker {
  #s: BreakerState;
  readonly #cfg: BreakerConfig;
  readonly #now: () => number;

  constructor(cfg: BreakerConfig, now: () => number) {
    if (!(cfg.cooldownMs > 0) || !(cfg.cooldownMaxMs >= cfg.cooldownMs) || !(cfg.halfOpenMax >= 1)) {
      throw new RangeError(`invalid breaker config ${JSON.stringify(cfg)}`);
    }
    this.#cfg = cfg;
    this.#now = now;
    this.#s = { state: 'closed', since: now(), attempt: 0 };
  }

  get state(): BreakerState {
    return this.#s;
  }

  /** Take over another breaker's state (a target re-created at the same address keeps its health, as Kong's). */
  adopt(other: CircuitBreaker): void {
    this.#s = other.state;
  }

  /** When the open state ends (ms), or null when not open. */
  get until(): number | null {
    return this.#s.state === 'open' ? this.#s.until : null;
  }

  /** Whether a new request may go to the target now (closed, or half-open with a free trial slot). */
  admits(): boolean {
    const s = this.#s;
    switch (s.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half-open':
        return s.inFlight < this.#cfg.halfOpenMax;
      default:
        return assertNever(s);
    }
  }

  /** Whether the open state's cool-down has ended. */
  due(): boolean {
    return this.#s.state === 'open' && this.#now() >= this.#s.until;
  }

  /** Trip: closed or half-open → open, with a cool-down that doubles per consecutive ejection. */
  open(reason: string): BreakerTransition | null {
    const s = this.#s;
    if (s.state === 'open') return null;
    const now = this.#now();
    // a breaker that stayed closed long enough forgets earlier ejections
    const attempt = s.state === 'closed' && now - s.since >= this.#cfg.cooldownMaxMs ? 1 : s.attempt + 1;
    const cooldown = Math.min(this.#cfg.cooldownMs * 2 ** (attempt - 1), this.#cfg.cooldownMaxMs);
    this.#s = { state: 'open', since: now, until: now + cooldown, attempt };
    return { from: s.state, to: 'open', reason };
  }

  /** open → half-open once the cool-down has ended (no-op before). */
  halfOpen(): BreakerTransition | null {
    const s = this.#s;
    if (s.state !== 'open' || this.#now() < s.until) return null;
    this.#s = { state: 'half-open', since: this.#now(), inFlight: 0, attempt: s.attempt };
    return { from: 'open', to: 'half-open', reason: 'cool-down ended' };
  }

  /** A trial request was sent while half-open. */
  trialStarted(): void {
    const s = this.#s;
    if (s.state === 'half-open') this.#s = { ...s, inFlight: s.inFlight + 1 };
  }

  /** A trial (or any) request succeeded: half-open → closed. */
  success(): BreakerTransition | null {
    const s = this.#s;
    if (s.state !== 'half-open') return null;
    this.#s = { state: 'closed', since: this.#now(), attempt: s.attempt };
    return { from: 'half-open', to: 'closed', reason: 'trial request succeeded' };
  }

  /** A trial request failed: half-open → open with a longer cool-down. */
  failure(): BreakerTransition | null {
    return this.#s.state === 'half-open' ? this.open('trial request failed') : null;
  }

  /** Close from any state (an operator's `PUT …/healthy`, or active checks reviving the target). */
  reset(reason: string): BreakerTransition | null {
    const s = this.#s;
    if (s.state === 'closed') return null;
    this.#s = { state: 'closed', since: this.#now(), attempt: s.attempt };
    return { from: s.state, to: 'closed', reason };
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected breaker state ${JSON.stringify(x)}`);
}
