/** The package version (read from package.json, from src or dist). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gw-agent' && pkg.version) return pkg.version;
    } catch {
      // not at this depth (src vs dist); try the next
    }
  }
  return '0.0.0';
}

export const AGENT_VERSION = readVersion();
