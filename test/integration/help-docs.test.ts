// The docs and --help must agree: every flag and env variable documented in a
// docs/ settings table is offered by the command's --help, and every flag in
// --help is documented (issue 14: docs that contradicted the code).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const GATEWAY = fileURLToPath(new URL('../../gateway/src/cli.js', import.meta.url));
const AGENT = fileURLToPath(new URL('../../agent/src/cli.js', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GW_')));
/** flags every commander program has, never in a settings table */
const BUILTIN = new Set(['--help', '--version']);

function help(cli: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args, '--help'], { env: cleanEnv, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Flags (`--name`) and env variables (`GW_*`) that a --help text offers, ignoring the Examples part. */
export function fromHelp(text: string): { flags: Set<string>; envs: Set<string> } {
  const options = text.split(/\n(?:Examples|Signals|Commands):/)[0] ?? text;
  const flags = new Set([...options.matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!).filter((f) => !BUILTIN.has(f)));
  const envs = new Set([...options.matchAll(/\benv:?\s+(GW_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  return { flags, envs };
}

/** Flags and env variables of the first markdown table after `heading` (rows starting with a flag). */
export function fromDocs(markdown: string, heading: string): { flags: Set<string>; envs: Set<string> } {
  const at = markdown.indexOf(heading);
  assert.ok(at >= 0, `docs lack the section ${heading}`);
  const lines = markdown.slice(at).split('\n');
  const start = lines.findIndex((l) => l.startsWith('| `--'));
  assert.ok(start >= 0, `no settings table under ${heading}`);
  const flags = new Set<string>();
  const envs = new Set<string>();
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    for (const m of (cells[1] ?? '').matchAll(/`(--[a-z0-9-]+)/g)) flags.add(m[1]!);
    for (const m of (cells[2] ?? '').matchAll(/`(GW_[A-Z0-9_]+)`/g)) envs.add(m[1]!);
  }
  return { flags, envs };
}

function assertSame(what: string, docs: Set<string>, helpText: Set<string>): void {
  const missingInHelp = [...docs].filter((x) => !helpText.has(x)).sort();
  const missingInDocs = [...helpText].filter((x) => !docs.has(x)).sort();
  assert.deepEqual({ missingInHelp, missingInDocs }, { missingInHelp: [], missingInDocs: [] }, what);
}

test('the parsers find flags and env variables in a help text and in a docs table', () => {
  const h = fromHelp(
    'Options:\n  -V, --version  v\n  --proxy-listen <a>  x (env GW_PROXY_LISTEN;\n  --port <p>  y (env: GW_PORT)\n\nExamples:\n  gw --bogus\n',
  );
  assert.deepEqual([...h.flags], ['--proxy-listen', '--port']);
  assert.deepEqual([...h.envs], ['GW_PROXY_LISTEN', 'GW_PORT']);
  const d = fromDocs(
    '## S\n\n| flag | env |\n|---|---|\n| `--a X` | `GW_A` |\n| `--b`, `--c` | `GW_B`, `GW_C` |\n\nafter\n| `--z` | `GW_Z` |',
    '## S',
  );
  assert.deepEqual([...d.flags], ['--a', '--b', '--c']);
  assert.deepEqual([...d.envs], ['GW_A', 'GW_B', 'GW_C']);
});

test('gw-gateway --help and docs/configuration.md list the same flags and env variables', () => {
  const h = fromHelp(help(GATEWAY, []));
  const d = fromDocs(readFileSync(`${root}docs/configuration.md`, 'utf8'), '# Configuring gw-gateway');
  assertSame('flags', d.flags, h.flags);
  assertSame('env variables', d.envs, h.envs);
});

test('gw-agent run --help and the run table of docs/agent.md list the same flags and env variables', () => {
  const h = fromHelp(help(AGENT, ['run']));
  const d = fromDocs(readFileSync(`${root}docs/agent.md`, 'utf8'), '## `gw-agent run`');
  assertSame('flags', d.flags, h.flags);
  assertSame('env variables', d.envs, h.envs);
});
