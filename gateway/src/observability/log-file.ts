/**
 * Log files (`--access-log FILE`, `--audit-log FILE`): opened for appending,
 * created with mode 0640 (the directory must exist); a file that cannot be
 * opened is a start-up error naming the setting as it was given.
 */
import { closeSync, openSync } from 'node:fs';
import { GwError } from '../errors.js';

/** Open `dest` for appending; `name` is the setting (`--access-log`, or `GW_ACCESS_LOG` when it came from the env). */
export function openLogFile(dest: string, name: string): number {
  try {
    return openSync(dest, 'a', 0o640);
  } catch (err) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [
      `${name} ${dest}: cannot open it for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    ]);
  }
}

/** Fail at start, naming the setting, if `dest` (not `off` or `stdout`) cannot be opened for appending. */
export function checkLogFile(dest: string, name: string): void {
  if (dest !== 'off' && dest !== 'stdout') closeSync(openLogFile(dest, name));
}
