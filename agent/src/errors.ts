/**
 * The agent's error catalogue: each error carries its documented exit code
 * (docs/agent.md). The top-level handler in cli.ts prints the message as one
 * line on stderr and exits with that code; anything else is a bug.
 */

/** Exit codes, as documented. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 });

export type AgentErrorType = 'usage' | 'timeout' | 'gateway' | 'sidecar' | 'failed';

/** An expected failure: printed as `gw-agent <command>: <message>` and exit code. */
export class AgentError extends Error {
  readonly gwAgentError = true;
  constructor(
    readonly type: AgentErrorType,
    message: string,
    readonly exitCode: number = type === 'usage' ? EXIT.usage : EXIT.failed,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** A bad flag, env value, config file or combination: exit 2. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super('usage', message, EXIT.usage);
  }
}

export function isAgentError(err: unknown): err is AgentError {
  return typeof err === 'object' && err !== null && (err as { gwAgentError?: unknown }).gwAgentError === true;
}
