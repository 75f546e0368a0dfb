/**
 * Drain progress for people and pipelines: a live line on a terminal
 * (stderr, rewritten in place), a line per change elsewhere, or JSON lines
 * on stdout with `--json`. The final one-line reason is the caller's.
 */
import type { DrainProgress, DrainResult } from '../../sdk/src/drain.js';
import { formatDuration } from './options.js';

export interface ProgressOptions {
  json: boolean;
  /** where the human line goes (stderr) */
  err?: NodeJS.WriteStream;
  out?: NodeJS.WritableStream;
}

export class DrainReporter {
  readonly #json: boolean;
  readonly #err: NodeJS.WriteStream;
  readonly #out: NodeJS.WritableStream;
  readonly #tty: boolean;
  #last = '';
  #lastAt = 0;
  #liveShown = false;

  constructor(o: ProgressOptions) {
    this.#json = o.json;
    this.#err = o.err ?? process.stderr;
    this.#out = o.out ?? process.stdout;
    this.#tty = this.#err.isTTY === true;
  }

  /** Print one JSON line (with --json). */
  event(e: Record<string, unknown>): void {
    if (this.#json) this.#out.write(JSON.stringify({ ...e, at: new Date().toISOString() }) + '\n');
  }

  progress(p: DrainProgress, totalTargets: number): void {
    if (this.#json) {
      this.event({ event: 'progress', targets: totalTargets, targets_left: p.targetsLeft, in_flight: p.inFlight, elapsed_ms: p.elapsedMs });
      return;
    }
    const line = `draining ${totalTargets} target${totalTargets === 1 ? '' : 's'}: ${p.targetsLeft} left, ${p.inFlight} request${p.inFlight === 1 ? '' : 's'} in flight, ${formatDuration(p.elapsedMs)} elapsed`;
    if (this.#tty) {
      this.#err.write(`\r\x1b[2K${line}`);
      this.#liveShown = true;
      return;
    }
    // not a terminal: a line when the numbers change, at most once a second
    const key = `${p.targetsLeft}/${p.inFlight}`;
    if (key !== this.#last && Date.now() - this.#lastAt >= 1000) {
      this.#last = key;
      this.#lastAt = Date.now();
      this.#err.write(line + '\n');
    }
  }

  done(r: DrainResult, extra: Record<string, unknown> = {}): void {
    if (this.#liveShown) this.#err.write('\n');
    this.event({
      event: 'done',
      drained: r.drained,
      targets: r.targets,
      deregistered: r.deregistered,
      targets_left: r.targetsLeft,
      in_flight: r.inFlight,
      elapsed_ms: r.elapsedMs,
      ...extra,
    });
  }
}
