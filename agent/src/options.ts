/**
 * Shared option handling for every `gw-agent` command: one table of flags
 * (name, env twin, help), layered as explicit flag > `GW_*` env > `--config`
 * file > default, then validated once with zod into a frozen object. Every
 * error names the flag at fault, where its value came from, and the value.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from './errors.js';

/** `500ms`, `30s`, `5m`, `1h`, or plain (possibly fractional) seconds → milliseconds; undefined if malformed. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

/** Print a duration in ms the way users type them. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

const DURATION_HINT = 'a duration like 500ms, 30s, 5m or plain seconds';

/** zod type for a duration flag: string or number in, milliseconds out. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${DURATION_HINT}, got "${v}"` });
    return z.NEVER;
  }
  return ms;
});

/** zod type for an integer flag given as a string (flag/env) or a number (config file). */
export const int = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an integer from ${min} to ${max}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

/** `HOST:PORT` (a `[v6]:port` works too). */
export const hostPort = z.string().transform((v, ctx) => {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 0 || port > 65535) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected HOST:PORT, got "${v}"` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port, text: v.trim() };
});

export const url = z.string().refine(
  (v) => /^https?:\/\/[^/\s]+/.test(v),
  (v) => ({ message: `expected an http(s) URL, got "${v}"` }),
);

export const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

/** One flag of the table: `key` is commander's camelCase attribute name. */
export interface FlagSpec {
  key: string;
  flags: string;
  env?: string;
  help: string;
  /** repeatable (`--route /a --route /b`); env and config give comma-separated lists */
  repeatable?: boolean;
  choices?: readonly string[];
  /** shown in help; applied by the schema, not by commander (so the config file can override it) */
  def?: string;
}

/** Flags shared by every command that talks to the Admin API. */
export const ADMIN_FLAGS: FlagSpec[] = [
  { key: 'adminUrl', flags: '--admin-url <url>', env: 'GW_ADMIN_URL', help: 'Admin API of gw-gateway or Kong, e.g. http://gateway:8001' },
  {
    key: 'adminToken',
    flags: '--admin-token <token>',
    env: 'GW_ADMIN_TOKEN',
    help: 'admin or registration token, sent as Authorization: Bearer',
  },
];

export const CONFIG_FLAG: FlagSpec = {
  key: 'config',
  flags: '--config <file>',
  env: 'GW_AGENT_CONFIG',
  help: 'YAML or JSON file of settings by flag name (camelCase or kebab-case), e.g. "service: users"',
};

export const CONTROL_URL_FLAG: FlagSpec = {
  key: 'controlUrl',
  flags: '--control-url <url>',
  env: 'GW_CONTROL_URL',
  help: 'control endpoint of the local sidecar',
  def: 'http://127.0.0.1:9901',
};

export const JSON_FLAG: FlagSpec = { key: 'json', flags: '--json', help: 'print JSON (JSON lines for progress) on stdout' };

/** Add the flags of a table to a command, with env twins and defaults in the help text. */
export function addFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const s of specs) {
    const help = `${s.help}${s.def !== undefined ? ` (default: ${s.def})` : ''}`;
    const o = new Option(s.flags, help);
    if (s.env) o.env(s.env);
    if (s.choices) o.choices(s.choices);
    // repeatable flags collect; env twins of them are comma-separated
    if (s.repeatable)
      o.argParser((v: string, prev: string[] | undefined) => [
        ...(prev ?? []),
        ...v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ]);
    cmd.addOption(o);
  }
  return cmd;
}

const camel = (k: string): string => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Read a `--config` file: YAML or JSON, keys by flag name. */
export function readConfigFile(file: string, known: Set<string>, ignoreUnknown = false): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new UsageError(`--config ${file}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new UsageError(`--config ${file}: expected a mapping of settings, e.g. "service: users"`);
  const out: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const key = camel(k);
    // `routes` reads naturally in a file; it is the --route flag
    const norm = key === 'routes' ? 'route' : key;
    if (!known.has(norm)) unknown.push(k);
    else out[norm] = v;
  }
  if (unknown.length && !ignoreUnknown) throw new UsageError(`--config ${file}: unknown setting(s) ${unknown.join(', ')}`);
  return out;
}

/**
 * Layer flag > env > config file > schema default for `specs`, validate
 * with `schema`, and return a frozen result. Throws UsageError naming every
 * bad flag and where its value came from.
 *
 * A file named by `GW_AGENT_CONFIG` rather than `--config` is the sidecar's
 * settings (the env is the container's): for every command but the one
 * that owns it (`run`, `ownsEnvConfig`), it gives only the settings that
 * have env twins and its other keys are ignored, so a bare `gw-agent drain`
 * or `status` inside a sidecar container acts on the local sidecar, never on
 * a `service:` the file names (selectors have no env twins on purpose).
 */
export function resolve<S extends z.ZodTypeAny>(
  cmd: Command,
  specs: FlagSpec[],
  schema: S,
  o: { ownsEnvConfig?: boolean } = {},
): Readonly<z.output<S>> {
  const opts = cmd.opts<Record<string, unknown>>();
  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  const configSpec = specs.find((s) => s.key === 'config');
  const configFile = configSpec ? (opts.config as string | undefined) : undefined;
  const sidecars = configFile !== undefined && cmd.getOptionValueSource('config') === 'env' && o.ownsEnvConfig !== true;
  const readable = sidecars ? specs.filter((s) => s.env !== undefined) : specs;
  const fromFile = configFile ? readConfigFile(configFile, new Set(readable.map((s) => s.key)), sidecars) : {};
  for (const s of specs) {
    const src = cmd.getOptionValueSource(s.key);
    if (src === 'cli' || src === 'env') {
      raw[s.key] = opts[s.key];
      source[s.key] = src === 'env' ? `env ${s.env}` : flagName(s);
    } else if (s.key in fromFile) {
      raw[s.key] = fromFile[s.key];
      source[s.key] = `${flagName(s)} in --config ${configFile}`;
    }
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const problems = (r.error as z.ZodError).issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const spec = specs.find((s) => s.key === key);
      const where = spec
        ? source[key] && source[key] !== flagName(spec)
          ? `${flagName(spec)} (from ${source[key]})`
          : flagName(spec)
        : key || 'options';
      const missing = raw[key] === undefined && (i.code === 'invalid_type' || i.code === 'invalid_union');
      const msg = missing ? `required${spec?.env ? ` (or set ${spec.env})` : ''}` : i.message;
      return `${where}: ${msg}`;
    });
    throw new UsageError(problems.join('; '));
  }
  return Object.freeze(r.data as z.output<S>);
}

export function flagName(s: FlagSpec): string {
  return s.flags.split(/[ ,]/)[0]!;
}
