/**
 * commander's own errors (unknown option, missing argument) in the form of
 * every other error of the CLIs: one line `NAME: …`, with the help hint on
 * it. `error: unknown option '--stor'\n(Did you mean --store?)\n` →
 * `gw-gateway: unknown option '--stor' (did you mean --store?); see gw-gateway --help`.
 */
export function usageLine(commanderText: string, name: string): string {
  const text = commanderText
    .trim()
    .replace(/^error:\s*/, '')
    .replace(/\s*\n\(Did you mean (.*)\)$/, ' (did you mean $1)')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  return `${name}: ${text}; see ${name} --help\n`;
}
