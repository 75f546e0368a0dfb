/**
 * The sidecar behind `gw-agent run`: wait for the app to answer 2xx on its
 * health path, register it through the SDK's `register()` (which keeps the
 * lease), keep probing the app (failures mark the target down, recovery up),
 * optionally reap dead gw targets (Kong hygiene), serve the control
 * endpoint, and on stop: drain, deregister.
 *
 * States (user-visible, `GET /` on the control endpoint):
 *   waiting-for-app → registering → registered ⇄ down → draining → drained
 *   → deregistered; `failed` when the gateway refuses the registration.
 *   `drained` also when an operator drained the target from outside
 *   (`gw-agent drain`/`deregister` through the Admin API, register.ts): it
 *   stays drained (or gone) until the sidecar restarts.
 */
import type { Logger } from 'pino';
import type { InternalErrors } from '../../contract/src/last-resort.js';
import type { DrainProgress, DrainResult } from '../../sdk/src/drain.js';
import { KongAdmin } from '../../sdk/src/kong-admin.js';
import type { RegisterOptions } from '../../sdk/src/options.js';
import { register, type Registration } from '../../sdk/src/register.js';
import { registrationFailure } from './admin.js';
import { startControlServer, type ControlServer } from './control.js';
import { AgentError } from './errors.js';
import { Reaper } from './reaper.js';

export type SidecarState = 'waiting-for-app' | 'registering' | 'registered' | 'down' | 'draining' | 'drained' | 'deregistered' | 'failed';

export interface SidecarConfig {
  /** adminUrl: required with backend kong (the default) */
  register: Partial<RegisterOptions> & { port: number; service: string };
  healthPath: string | undefined;
  healthIntervalMs: number;
  /** consecutive failed probes that mark the target down */
  unhealthyAfter: number;
  drainTimeoutMs: number;
  controlListen: { host: string; port: number };
  reapAfterMs: number | undefined;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Sidecar {
  readonly #c: SidecarConfig;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #reg: Registration | undefined;
  #control: ControlServer | undefined;
  #waiting = true;
  #drain: 'none' | 'draining' | 'drained' = 'none';
  #appHealthy: boolean | undefined;
  #failures = 0;
  #lastCheckAt: string | undefined;
  #lastState: SidecarState | undefined;
  #reaper: Reaper | undefined;
  #stopping: Promise<void> | undefined;
  readonly #startedAt = new Date().toISOString();
  /** uncaught exceptions and unhandled rejections this process survived (gw-agent run installs the last resort, contract/src/last-resort.ts) */
  readonly internalErrors: InternalErrors = { uncaught: 0, unhandled: 0 };
  #failure: AgentError | undefined;
  #resolveDone!: (code: number) => void;
  /** resolves with the exit code once the sidecar has stopped */
  readonly done = new Promise<number>((r) => (this.#resolveDone = r));

  constructor(c: SidecarConfig, log: Logger) {
    this.#c = c;
    this.#log = log;
  }

  /** Why the sidecar stopped by itself (the registration was refused): `gw-agent run` prints it as its one stderr line. */
  get failure(): AgentError | undefined {
    return this.#failure;
  }

  get controlUrl(): string | undefined {
    return this.#control?.url;
  }

  get state(): SidecarState {
    const reg = this.#reg;
    if (!reg) return this.#waiting ? 'waiting-for-app' : 'deregistered';
    switch (reg.state) {
      case 'registering':
        return 'registering';
      case 'failed':
        return 'failed';
      case 'draining':
        return 'draining';
      case 'deregistered':
        return 'deregistered';
      case 'drained':
        return 'drained';
      case 'registered':
        if (this.#drain !== 'none') return this.#drain;
        return reg.available ? 'registered' : 'down';
      default: {
        const never: never = reg.state;
        return never;
      }
    }
  }

  snapshot(): Record<string, unknown> {
    const r = this.#reg;
    const o = this.#c.register;
    return {
      state: this.state,
      service: o.service,
      upstream: r?.upstream ?? o.upstream ?? `${o.service}.upstream`,
      target: r?.target ?? null,
      gateway: r?.gateway ?? null,
      deployment: r?.deployment ?? o.deployment ?? null,
      instance_id: r?.instanceId ?? o.instanceId ?? null,
      weight: r ? (r.available ? (o.weight ?? 100) : 0) : null,
      // who drained it: this sidecar (POST /drain, `gw-agent drain` without a selector) or an operator through the Admin API
      drained_by: r?.state === 'drained' ? 'operator' : this.#drain === 'drained' ? 'sidecar' : null,
      app: {
        port: o.port,
        health_path: this.#c.healthPath ?? null,
        healthy: this.#appHealthy ?? null,
        consecutive_failures: this.#failures,
        last_check_at: this.#lastCheckAt ?? null,
      },
      reaped: this.#reaper?.reaped ?? [],
      internal_errors: { uncaught_exception: this.internalErrors.uncaught, unhandled_rejection: this.internalErrors.unhandled },
      started_at: this.#startedAt,
      pid: process.pid,
    };
  }

  /** Start the control endpoint, then wait for the app and register. */
  async start(): Promise<void> {
    this.#control = await startControlServer(this.#c.controlListen, {
      state: () => this.snapshot(),
      ready: () => ['registered', 'down', 'draining', 'drained'].includes(this.state),
      drain: (o) => this.drain(o),
    });
    this.#log.info({ control: this.#control.url }, 'control endpoint listening');
    void this.#main().catch((err: unknown) => {
      this.#log.error({ err: (err as Error).message }, 'sidecar failed');
      void this.stop(1);
    });
  }

  async #main(): Promise<void> {
    const signal = this.#stop.signal;
    if (this.#c.healthPath) {
      this.#log.info({ url: this.#healthUrl() }, 'waiting for the app to answer 2xx before registering');
      while (!signal.aborted && !(await this.#probe())) await sleep(Math.min(500, this.#c.healthIntervalMs), signal);
      if (signal.aborted) return;
      this.#log.info({ url: this.#healthUrl() }, 'the app is ready');
    }
    this.#waiting = false;
    this.#reg = await register({
      ...this.#c.register,
      background: true,
      handleSignals: false,
      keepAlive: true,
      logger: this.#log,
      onShutdown: () => undefined,
      drainTimeout: this.#drainBudget(),
      shutdownTimeout: this.#c.drainTimeoutMs,
    });
    // follow the registration: log transitions, stop on a refused registration
    const watch = async (): Promise<void> => {
      while (!signal.aborted) {
        const s = this.state;
        if (s !== this.#lastState) {
          this.#log.info({ state: s, from: this.#lastState ?? null, target: this.#reg?.target }, 'state');
          this.#lastState = s;
        }
        if (s === 'failed') {
          const o = this.#c.register;
          const failure = (this.#failure =
            o.backend === 'cloudmap'
              ? new AgentError(
                  'failed',
                  (this.#reg?.error?.message ?? 'Cloud Map refused the registration').replace(/^gw register\(\): /, ''),
                )
              : registrationFailure(o, o.service, this.#reg?.error));
          this.#log.error(
            { err: failure.message },
            `${o.backend === 'cloudmap' ? 'Cloud Map' : 'the gateway'} refused the registration; exiting`,
          );
          void this.stop(1);
          return;
        }
        await sleep(100, signal);
      }
    };
    void watch();
    if (this.#c.healthPath) void this.#watchApp();
    if (this.#c.reapAfterMs !== undefined) void this.#reapLoop();
  }

  #healthUrl(): string {
    return `http://127.0.0.1:${this.#c.register.port}${this.#c.healthPath ?? '/'}`;
  }

  /** One probe of the app: true on 2xx. */
  async #probe(): Promise<boolean> {
    this.#lastCheckAt = new Date().toISOString();
    try {
      const r = await fetch(this.#healthUrl(), { signal: AbortSignal.timeout(Math.max(1000, Math.min(this.#c.healthIntervalMs, 5000))) });
      await r.arrayBuffer();
      this.#appHealthy = r.status >= 200 && r.status < 300;
    } catch {
      this.#appHealthy = false;
    }
    this.#failures = this.#appHealthy ? 0 : this.#failures + 1;
    return this.#appHealthy;
  }

  /** Keep probing; `unhealthyAfter` failures in a row mark the target down, one success up. */
  async #watchApp(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      await sleep(this.#c.healthIntervalMs, signal);
      if (signal.aborted || !this.#reg || this.#drain !== 'none') return;
      const ok = await this.#probe();
      const reg = this.#reg;
      if (reg.state !== 'registered') continue;
      try {
        if (!ok && this.#failures >= this.#c.unhealthyAfter && reg.available) {
          this.#log.warn({ url: this.#healthUrl(), failures: this.#failures }, 'the app fails its health check; marking the target down');
          await reg.setAvailable(false);
        } else if (ok && !reg.available) {
          this.#log.info({ url: this.#healthUrl() }, 'the app is healthy again; marking the target up');
          await reg.setAvailable(true);
        }
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'could not change the target weight; will retry');
      }
    }
  }

  async #reapLoop(): Promise<void> {
    const signal = this.#stop.signal;
    const o = this.#c.register;
    this.#reaper = new Reaper({
      admin: new KongAdmin(o.adminUrl ?? '', o.adminToken), // run refuses --reap-after without --admin-url (Kong hygiene)
      upstream: this.#reg?.upstream ?? `${o.service}.upstream`,
      reapAfterMs: this.#c.reapAfterMs ?? 0,
      exclude: () => this.#reg?.target,
      logger: this.#log,
    });
    const every = Math.min(10_000, Math.max(250, (this.#c.reapAfterMs ?? 0) / 4));
    while (!signal.aborted) {
      if (this.#reg?.state === 'registered') {
        await this.#reaper
          .sweep()
          .catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'reap sweep failed; will retry'));
      }
      await sleep(every, signal);
    }
  }

  /** The SDK's in-flight wait leaves a second of the budget for the delete. */
  #drainBudget(): number {
    const t = this.#c.drainTimeoutMs;
    return Math.max(1, t > 2000 ? t - 1000 : Math.floor(t * 0.8));
  }

  /** Drain without leaving (control endpoint / `gw-agent drain`); with `deregister`, also remove the target. */
  async drain(o: {
    timeoutMs: number | undefined;
    deregister: boolean;
    onProgress: (p: DrainProgress) => void;
  }): Promise<DrainResult & { target: string | undefined }> {
    const reg = this.#reg;
    const target = reg?.target;
    if (!reg || !target || reg.state !== 'registered') {
      return { drained: true, targets: [], deregistered: [], targetsLeft: 0, inFlight: 0, elapsedMs: 0, target };
    }
    this.#drain = 'draining';
    this.#log.info({ target }, 'drain requested on the control endpoint');
    const r = await reg.drain({ timeoutMs: o.timeoutMs ?? this.#drainBudget(), onProgress: o.onProgress });
    if (this.#drain === 'draining') this.#drain = 'drained';
    if (o.deregister && r.drained) {
      await reg.close();
      r.deregistered = [target];
    }
    this.#log.info(
      { target, drained: r.drained, in_flight: r.inFlight, deregistered: r.deregistered.length > 0 },
      r.drained ? 'drained' : 'drain timed out',
    );
    return { ...r, target };
  }

  /** SIGTERM/SIGINT: drain, deregister (bounded by the drain timeout), stop. Idempotent. */
  stop(code = 0): Promise<void> {
    return (this.#stopping ??= (async () => {
      this.#stop.abort();
      if (this.#reg) {
        this.#log.info({ target: this.#reg.target }, 'stopping: drain and deregister');
        await this.#reg.close().catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'deregistration failed'));
      }
      await this.#control?.close();
      this.#log.info({ state: this.state }, 'stopped');
      this.#resolveDone(code);
    })());
  }
}
