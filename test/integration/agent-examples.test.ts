import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';

// the JSON and shell files are not compiled: find the repository (dist/test/integration → root), else the working directory
const ROOT = [new URL('../../../', import.meta.url), new URL('../../', import.meta.url), pathToFileURL(process.cwd() + '/')].find((u) =>
  existsSync(new URL('examples/ecs/task-definition.json', u)),
)!;
const read = (p: string): string => readFileSync(new URL(p, ROOT), 'utf8');

interface Container {
  name: string;
  essential?: boolean;
  command?: string[];
  stopTimeout?: number;
  dependsOn?: { containerName: string; condition: string }[];
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  healthCheck?: { command: string[]; startPeriod?: number };
  portMappings?: { containerPort: number }[];
}

test('examples/ecs/task-definition.json: app + gw-agent sidecar that stops first (dependsOn), drains within its stopTimeout, health check on /ready', () => {
  const td = JSON.parse(read('examples/ecs/task-definition.json')) as { networkMode: string; containerDefinitions: Container[] };
  assert.equal(td.networkMode, 'awsvpc');
  const app = td.containerDefinitions.find((c) => c.name === 'app')!;
  const agent = td.containerDefinitions.find((c) => c.name === 'gw-agent')!;
  assert.ok(app && agent);
  assert.deepEqual(agent.command, ['gw-agent', 'run']);
  // ECS reverses dependencies on shutdown: the sidecar starts after the app is healthy and stops before it
  assert.deepEqual(agent.dependsOn, [{ containerName: 'app', condition: 'HEALTHY' }]);
  assert.ok(app.healthCheck?.command.join(' ').includes('/health'));
  assert.ok(agent.healthCheck?.command.join(' ').includes('127.0.0.1:9901/ready'));
  const env = Object.fromEntries((agent.environment ?? []).map((e) => [e.name, e.value]));
  assert.equal(env.GW_PORT, String(app.portMappings?.[0]?.containerPort));
  for (const k of ['GW_ADMIN_URL', 'GW_SERVICE', 'GW_ROUTES', 'GW_HEALTH_PATH', 'GW_DRAIN_TIMEOUT', 'GW_CONTROL_LISTEN'])
    assert.ok(env[k], k);
  assert.ok(
    (agent.secrets ?? []).some((s) => s.name === 'GW_ADMIN_TOKEN'),
    'the token comes from a secret, not plain env',
  );
  const drainS = Number(/^(\d+)s$/.exec(env.GW_DRAIN_TIMEOUT!)![1]);
  assert.ok(agent.stopTimeout! > drainS, 'stopTimeout leaves room for drain + deregister');
  assert.ok(agent.stopTimeout! <= 120, 'Fargate caps stopTimeout at 120 s');
});

test('examples/ecs/deploy-pipeline.sh is valid bash and drains the old deployment with gw-agent drain --service … --deployment …', () => {
  const file = fileURLToPath(new URL('examples/ecs/deploy-pipeline.sh', ROOT));
  const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(read('examples/ecs/deploy-pipeline.sh'), /gw-agent drain --service "\$SERVICE" --deployment "\$OLD" --timeout \S+/);
});
