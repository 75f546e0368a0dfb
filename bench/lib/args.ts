/**
 * Command-line options of a bench script: node's parseArgs, plus `--help`
 * (prints the script's own header comment, its documentation, and exits 0)
 * and a clear message for a bad option (the error and how to get help, exit
 * status 2) instead of parseArgs' stack trace.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The leading block comment of a script (tsc keeps comments), without its ` * ` margins. */
export function headerComment(source: string): string {
  const m = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!m) return '';
  return m[1]!
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * `parseArgs(config)` for the script at `scriptUrl` (its `import.meta.url`),
 * with `--help` added to the options.
 */
export function benchArgs<const T extends ParseArgsConfig>(scriptUrl: string, config: T): ReturnType<typeof parseArgs<T>> {
  const script = fileURLToPath(scriptUrl);
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    console.log(headerComment(readFileSync(script, 'utf8')));
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    console.error(`${(err as Error).message}\n(--help for the options)`);
    process.exit(2);
  }
}
