#!/usr/bin/env node
/**
 * `gw-gateway`: the bundled gateway. Thin: parse settings, start, stop on signals.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or settings.
 */
import { Command, CommanderError, Option } from 'commander';
import { readSettingsFile, resolveSettings, SETTINGS, type RawSettings } from './config/settings.js';
import { isGwError } from './errors.js';
import { startGateway, type Gateway } from './gateway.js';
import { keepRunning } from './observability/last-resort.js';
import { createLogger } from './observability/log.js';
import { GW_VERSION } from './version.js';
import { usageLine } from '../../contract/src/usage-line.js';

/** the argument placeholder in --help, where it is not `value` */
const CLI_ARGS: Partial<Record<keyof RawSettings, string>> = {
  cloudmapNamespaces: 'name',
  cloudmapEndpoint: 'url',
  awsRegion: 'region',
  cloudmapInterval: 'duration',
  cloudmapDefaultPort: 'port',
  dnsResolver: 'host:port',
  dnsStaleTtl: 'seconds',
};

function buildProgram(): Command {
  const program = new Command('gw-gateway')
    .description(
      'gw-gateway: a Kong-compatible API gateway (Admin API + proxy) with registration leases, health checks and circuit breaking.\nFlags win over env variables, env over --settings file keys, those over defaults.',
    )
    .version(GW_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(usageLine(s, 'gw-gateway')) })
    .allowExcessArguments(false);
  for (const s of SETTINGS) {
    const arg =
      s.key === 'kongOnly'
        ? ''
        : ` <${s.key === 'proxyListen' || s.key === 'adminListen' ? 'host:port' : s.key === 'workers' ? 'n' : s.key === 'trustedIps' ? 'list' : s.key === 'clientBodyBufferSize' ? 'size' : s.key === 'clientBodyTimeout' || s.key === 'clientHeaderTimeout' ? 'duration' : s.key === 'maxRequestHeaders' ? 'n' : s.key === 'registrationTokens' ? 'service=token' : s.key === 'auditLog' || s.key === 'accessLog' ? 'file' : (CLI_ARGS[s.key] ?? 'value')}>`;
    const def = s.def !== undefined && s.def !== '' ? `; default ${s.def}` : '';
    const option = new Option(`${s.flag}${arg}`, `${s.help} (env ${s.env}${def})`);
    // repeatable: every occurrence kept
    if (s.key === 'registrationTokens' || s.key === 'cloudmapNamespaces' || s.key === 'dnsResolver')
      option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    program.addOption(option);
  }
  program.addOption(
    new Option('--settings <file>', 'YAML/JSON file of settings by camelCase name, e.g. "proxyListen: 0.0.0.0:8000" (env GW_SETTINGS)'),
  );
  program.addHelpText(
    'after',
    `
Examples:
  gw-gateway                                   # file store in ./gw-data, proxy :8000, admin 127.0.0.1:8001
  gw-gateway --store memory --config kong.yaml # load a Kong declarative file into memory
  GW_ADMIN_TOKEN=$(openssl rand -hex 24) gw-gateway --admin-listen 0.0.0.0:8001
  gw-gateway --admin-token "$ADMIN" --registration-token users="$USERS_TOKEN" --audit-log /var/log/gw-audit.log
  gw-gateway --workers 4 --trusted-ips 10.0.0.0/8 # 4 proxy processes behind an ALB in 10/8
  gw-gateway --access-log /var/log/gw-access.log  # access log to a file (stdout by default, off to disable)
  gw-gateway --cloudmap-namespace internal.local --aws-region eu-west-1 # route Cloud Map (ECS service discovery) services

Signals: SIGTERM/SIGINT stop accepting, let in-flight requests finish (10 s at most), flush the store and exit 0;
before it is ready (store opening, database awaited, --config loading) they abandon the start, release what was opened, exit 0.
SIGHUP re-reads --config and applies the difference without dropping requests (registered targets are kept).
Once it serves, no exception stops the gateway: an uncaught exception or unhandled promise rejection is logged
(level error, with its stack) and counted in gw_internal_errors_total, and the gateway keeps running.`,
  );
  return program;
}

async function main(argv: string[]): Promise<number> {
  // a stop signal at any point of the start abandons it cleanly (exit 0), as one after ready drains and stops
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let stopping = false;
  const abort = new AbortController();
  void stopSignal.then(() => {
    stopping = true;
    abort.abort();
  });
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2; // commander already printed the one-line reason
    }
    throw err;
  }
  const given = program.opts<Record<string, unknown> & { settings?: string }>();
  // commander names a value after its flag (`--registration-token` → registrationToken): map each to its setting key
  const opts: RawSettings & { settings?: string } = { settings: given.settings };
  for (const s of SETTINGS) {
    const v = given[new Option(s.flag).attributeName()];
    if (v !== undefined) (opts as Record<string, unknown>)[s.key] = v;
  }
  let gw: Gateway | undefined;
  let settings;
  try {
    const fromEnv = opts.settings === undefined && !!process.env.GW_SETTINGS;
    const settingsFile = opts.settings ?? process.env.GW_SETTINGS;
    settings = resolveSettings(
      opts,
      process.env,
      settingsFile ? readSettingsFile(settingsFile, fromEnv ? 'GW_SETTINGS' : '--settings') : {},
    );
  } catch (err) {
    if (isGwError(err)) {
      process.stderr.write(`gw-gateway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(settings.logLevel);
  const config = settings.config;
  // SIGHUP re-reads --config and applies the difference; it never stops the gateway (nor its start)
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (!gw) {
      logger.warn({ signal: 'SIGHUP' }, 'not ready yet: --config is being loaded at start; nothing to reload');
      return;
    }
    if (!config) {
      logger.warn({ signal: 'SIGHUP' }, 'no --config file to reload; nothing changed');
      return;
    }
    gw.reload().catch((err: unknown) => {
      logger.error({ err: isGwError(err) ? err.message : err, file: config }, 'reload refused; the running configuration is unchanged');
    });
  });
  void stopSignal.then((signal) => {
    if (!gw) logger.info({ signal }, 'stopping before ready: the start is abandoned');
  });
  const origins = settings.origins;
  try {
    gw = await startGateway({
      signal: abort.signal,
      settingNames: {
        proxyListen: origins.proxyListen,
        adminListen: origins.adminListen,
        statusListen: origins.statusListen,
        dataDir: origins.dataDir,
        accessLog: origins.accessLog,
        auditLog: origins.auditLog,
      },
      proxyListen: `${settings.proxy.host.includes(':') ? `[${settings.proxy.host}]` : settings.proxy.host}:${settings.proxy.port}`,
      adminListen: `${settings.admin.host.includes(':') ? `[${settings.admin.host}]` : settings.admin.host}:${settings.admin.port}`,
      adminToken: settings.adminToken,
      store: settings.store,
      dataDir: settings.dataDir,
      pgUrl: settings.pgUrl,
      nodeId: settings.nodeId,
      config: settings.config,
      logger,
      kongOnly: settings.kongOnly,
      workers: settings.workers,
      trustedIps: settings.trustedIps,
      statusListen: settings.status
        ? `${settings.status.host.includes(':') ? `[${settings.status.host}]` : settings.status.host}:${settings.status.port}`
        : undefined,
      proxyLimits: settings.proxyLimits,
      registrationTokens: settings.registrationTokens,
      auditLog: settings.auditLog,
      accessLog: settings.accessLog,
      dnsResolver: settings.dnsResolver,
      dnsStaleTtl: settings.dnsStaleTtl,
      cloudMap: settings.cloudMap,
    });
  } catch (err) {
    if (abort.signal.aborted) {
      // startGateway() released what it had opened
      logger.info('stopped before ready');
      return 0;
    }
    if (!isGwError(err)) throw err;
    // the --config file at start (unreadable, invalid, unsupported): say where it was given, as the other settings do
    const where = err.code === 'GW_ERR_CONFIG_FILE' || err.code === 'GW_ERR_CONFIG_UNSUPPORTED' ? `${origins.config}: ` : '';
    process.stderr.write(`gw-gateway: ${where}${err.message}\n`);
    return err.code.startsWith('GW_ERR_CONFIG') || err.code === 'GW_ERR_STORE_CORRUPT' ? 2 : 1;
  }
  // serving now: from here on no exception stops the gateway; it is logged and counted (observability/last-resort.ts)
  keepRunning(logger);
  const signal = await stopSignal;
  logger.info({ signal }, 'stopping');
  try {
    await gw.close(10_000);
    return 0;
  } catch (err) {
    logger.error({ err }, 'error while stopping');
    return 1;
  }
}

// `gw-gateway --help | head`: a closed stdout is not an error worth a stack trace
// (the same rule as sdk/src/cli-stdout.ts for gw-agent; the gateway may not import the SDK)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // pino writes synchronously to stdout (the access log was flushed by close); nothing else should hold the loop
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `gw-gateway: unexpected error, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
