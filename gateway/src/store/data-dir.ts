/**
 * The file store's data directory, made ready at start: created with its
 * missing parents, and refused, naming the setting, when it cannot be used
 * (a file in the way, a path that cannot be created, a directory that
 * cannot be written). Never a bare `EEXIST`/`ENOTDIR` with a stack trace,
 * never a misleading message from a later step.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GwError } from '../errors.js';

/**
 * Create `dir` (and its missing parents) unless it exists, then check that it
 * is a directory this process can read, write and enter. `name` is how the
 * setting is named in the error (`--data-dir`, or `GW_DATA_DIR` when the value
 * came from the env).
 *
 * @throws GwError `GW_ERR_CONFIG_INVALID`: `NAME DIR: reason`
 */
export async function ensureDataDir(dir: string, name: string): Promise<void> {
  const refuse = (reason: string): GwError => new GwError('GW_ERR_CONFIG_INVALID', [`${name} ${dir}: ${reason}`]);
  try {
    await makeDir(resolve(dir));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'GW_NOT_A_DIRECTORY')
      throw refuse(
        (err as { path?: string }).path === resolve(dir)
          ? 'it is a file, not a directory'
          : `${(err as { path?: string }).path} is a file, not a directory`,
      );
    if (code === 'ENOTDIR') throw refuse('a part of the path is a file, not a directory');
    throw refuse(`cannot create it (${code ?? (err as Error).message})`);
  }
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw refuse(`it is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * `mkdir -p`, one level at a time: node's own `mkdir(…, { recursive: true })`
 * never returns for some paths it cannot create (`/proc/x` on Linux, node 20).
 */
async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return isDirectory(path);
    if (code !== 'ENOENT' || dirname(path) === path) throw err;
  }
  await makeDir(dirname(path));
  try {
    await mkdir(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return isDirectory(path);
    throw err;
  }
}

async function isDirectory(path: string): Promise<void> {
  if (!(await stat(path)).isDirectory()) throw Object.assign(new Error(`${path} is not a directory`), { code: 'GW_NOT_A_DIRECTORY', path });
}
