#!/usr/bin/env node
/**
 * `gw-agent`: the ECS sidecar and deploy-pipeline tool. Thin: one file per
 * command in commands/, each parsing its flags once and calling the SDK.
 * Exit codes: 0 done, 1 failed or timed out, 2 bad usage (docs/agent.md).
 */
import { Command, CommanderError } from 'commander';
import { AGENT_VERSION } from './version.js';
import { promoteCommand, rollbackCommand } from './commands/blue-green.js';
import { deregisterCommand } from './commands/deregister.js';
import { drainCommand } from './commands/drain.js';
import { reapCommand } from './commands/reap.js';
import { registerCommand } from './commands/register.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { exitQuietlyOnClosedStdout } from '../../sdk/src/cli-stdout.js';
import { EXIT, isAgentError } from './errors.js';
import { usageLine } from '../../contract/src/usage-line.js';

/**
 * Commander settings every command shares: throw instead of exiting, no
 * stray arguments, a usage error as one line naming the command
 * (`gw-agent drain: unknown option '--bogus'; see gw-agent drain --help`).
 */
function strict(cmd: Command, name: string): Command {
  cmd
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ outputError: (s, write) => write(usageLine(s, name)) });
  return cmd;
}

export function buildProgram(): Command {
  const program = strict(new Command('gw-agent'), 'gw-agent')
    .description('gw-agent: register ECS tasks in gw-gateway or Kong from outside the app (sidecar), and drain them from deploy pipelines.')
    .version(AGENT_VERSION, '-V, --version');
  for (const cmd of [
    runCommand(),
    drainCommand(),
    registerCommand(),
    deregisterCommand(),
    statusCommand(),
    reapCommand(),
    promoteCommand(),
    rollbackCommand(),
  ])
    program.addCommand(strict(cmd, `gw-agent ${cmd.name()}`));
  program.addHelpText(
    'after',
    `
Examples:
  gw-agent run --admin-url http://gateway:8001 --service users --route /api/v1/users --port 3000 --health-path /health
  gw-agent drain --admin-url http://gateway:8001 --service users --deployment users:41 --timeout 60s
  gw-agent status --admin-url http://gateway:8001 --service users

Exit codes: 0 done, 1 failed or timed out, 2 usage error. Docs: docs/agent.md`,
  );
  return program;
}

/** Run the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const name = (): string => {
    const sub = argv.find((a) => !a.startsWith('-'));
    return sub && program.commands.some((c) => c.name() === sub) ? `gw-agent ${sub}` : 'gw-agent';
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // 'commander.help': no command given (help went to stderr); others: commander printed the reason
      return EXIT.usage; // commander already printed the one-line reason
    }
    if (isAgentError(err)) {
      process.stderr.write(`${name()}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

exitQuietlyOnClosedStdout();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // nothing should hold the loop; pino writes synchronously
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `gw-agent: unexpected error, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
