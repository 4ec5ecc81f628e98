import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userToken } from './support/tokens.js';
import { TestClient } from './support/ws-client.js';

/**
 * The container image's start command boots: `npm run build` (what the image's build stage runs, and
 * CI before `npm test`), then the runtime stage's CMD from the Dockerfile, with the runtime stage's ENV,
 * as a separate process. It must answer the probes, pass the Dockerfile's own HEALTHCHECK command, log
 * JSON without secrets, serve WebSockets, and on SIGTERM (the image's STOPSIGNAL) tell clients to
 * reconnect and exit 0 within the drain grace period. The Dockerfile is parsed, not copied, so the
 * image and this test cannot drift apart.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BOOT_TIMEOUT_MS = 30_000;
/** Herald's default HERALD_SHUTDOWN_GRACE_MS, which the image and the Kubernetes example keep. */
const SHUTDOWN_GRACE_MS = 10_000;

const APP = { id: 'image-app', key: 'image-key', secret: 'image-secret-0123456789abcdef', apiKeys: ['image-api-key-0123456789'] };

interface RuntimeStage {
  cmd: string[];
  healthcheck: string[];
  stopSignal: string;
  exposed: number[];
  env: Record<string, string>;
}

/** The last stage of the Dockerfile (the image that runs): CMD, HEALTHCHECK CMD, STOPSIGNAL, EXPOSE, ENV. */
function readRuntimeStage(): RuntimeStage {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const lastFrom = lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true);
  const stage = lines.slice(lastFrom + 1);
  const instruction = (name: string) => stage.filter((line) => new RegExp(`^${name}\\s`, 'i').test(line));
  const exec = (line: string | undefined, pattern: RegExp): string[] => {
    const match = line === undefined ? null : pattern.exec(line);
    if (!match) throw new Error(`Dockerfile runtime stage: no exec-form ${pattern.source}`);
    return JSON.parse(match[1]) as string[];
  };
  const env: Record<string, string> = {};
  for (const line of instruction('ENV')) {
    for (const [, key, value] of line.replace(/^ENV\s+/i, '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      env[key] = value.replace(/^"|"$/g, '');
    }
  }
  return {
    cmd: exec(instruction('CMD').at(-1), /^CMD\s+(\[.*\])$/i),
    healthcheck: exec(instruction('HEALTHCHECK').at(-1), /^HEALTHCHECK\s+(?:--\S+\s+)*CMD\s+(\[.*\])$/i),
    stopSignal: instruction('STOPSIGNAL').at(-1)?.split(/\s+/)[1] ?? 'SIGTERM',
    exposed: instruction('EXPOSE').flatMap((line) => line.split(/\s+/).slice(1).map((port) => Number.parseInt(port, 10))),
    env,
  };
}

/** Newest modification time of the build inputs (sources without unit specs, compiler config). */
function newestInput(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(ROOT, 'src'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json']) newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs);
  return newest;
}

/** `npm run build` unless dist/main.js is newer than every input (CI has just built it). */
function ensureBuilt(entry: string): void {
  const main = join(ROOT, entry);
  if (existsSync(main) && statSync(main).mtimeMs >= newestInput()) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status ?? build.signal}):\n${build.stdout}\n${build.stderr}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A started process with its output so far and a promise of its exit. */
interface Started {
  child: ChildProcess;
  output: () => string;
  stdoutLines: () => string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function start(cmd: string[], env: Record<string, string>): Started {
  // `node` is this very Node binary (the image's `node` is the same major on CI).
  const [file, ...args] = cmd;
  const child = spawn(file === 'node' ? process.execPath : file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    output: () => `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-4000)}`,
    stdoutLines: () => stdout.split('\n').filter((line) => line.trim() !== ''),
    exited,
  };
}

/** Polls `url` until it answers `status`; fails at once if the process exits, or after the deadline. */
async function waitForStatus(url: string, status: number, server: Started, deadline: number): Promise<unknown> {
  let last = 'no answer yet';
  let exited = false;
  // `exited` never rejects; the second handler only keeps the promise from floating.
  server.exited.then(
    () => (exited = true),
    () => (exited = true),
  );
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited before ${url} answered ${status}\n${server.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const body: unknown = await response.json().catch(() => null);
      if (response.status === status) return body;
      last = `HTTP ${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${BOOT_TIMEOUT_MS} ms (last: ${last})\n${server.output()}`);
}

describe('container image start command', () => {
  const stage = readRuntimeStage();
  let server: Started | undefined;
  const clients: TestClient[] = [];

  beforeAll(() => ensureBuilt(stage.cmd[1] ?? 'dist/main.js'), 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it('is the production start script, on the exposed default port, stopped with SIGTERM', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(stage.cmd.join(' ')).toBe(scripts['start:prod']);
    expect(stage.stopSignal).toBe('SIGTERM');
    expect(stage.exposed).toContain(Number(stage.env.PORT ?? 6001));
    expect(stage.env.NODE_ENV).toBe('production');
  });

  it('needs only production dependencies (the runtime stage installs with npm ci --omit=dev)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.js')) {
          for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
            if (!specifier.startsWith('node:')) imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
          }
        }
      }
    };
    walk(join(ROOT, 'dist'));
    expect(imported.size).toBeGreaterThan(0);
    const devOnly = [...imported].filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    const missing = [...imported].filter((name) => lock.packages[`node_modules/${name}`] === undefined);
    expect({ devOnly, missing }).toEqual({ devOnly: [], missing: [] });
  });

  it('boots, passes the probes and the HEALTHCHECK, serves sockets, and drains on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...stage.env,
      PORT: String(port),
      LOG_LEVEL: 'info',
      // Configured as in the Kubernetes example (a Secret), so the production path runs, not the dev app.
      HERALD_APPS: JSON.stringify([APP]),
    };
    const booted = Date.now();
    server = start(stage.cmd, env);
    const running = server;
    const base = `http://127.0.0.1:${port}`;

    const live = await waitForStatus(`${base}/health/live`, 200, running, booted + BOOT_TIMEOUT_MS);
    expect(live).toMatchObject({ status: 'ok' });
    const ready = await waitForStatus(`${base}/health/ready`, 200, running, booted + BOOT_TIMEOUT_MS);
    expect(ready).toMatchObject({ status: 'ok', info: { lifecycle: { status: 'up' } } });

    // The Dockerfile's HEALTHCHECK, as Docker runs it inside the container (same env).
    const [probe, ...probeArgs] = stage.healthcheck;
    const healthcheck = spawnSync(probe === 'node' ? process.execPath : probe, probeArgs, { env, encoding: 'utf8', timeout: 10_000 });
    expect({ status: healthcheck.status, stderr: healthcheck.stderr }).toEqual({ status: 0, stderr: '' });

    // One client per reconnect signal: the bus (1012) and Pusher (4200).
    const bus = await TestClient.connect(`ws://127.0.0.1:${port}/ws/bus?app=${APP.key}&token=${userToken({ secret: APP.secret })}`);
    clients.push(bus);
    bus.send({ id: 'p1', cmd: 'ping', data: {} });
    await expect(bus.next((frame) => frame.id === 'p1')).resolves.toEqual({ id: 'p1', cmd: 'ack', data: { status: 'pong' } });
    const pusher = await TestClient.connect(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7&client=js&version=8.6.0`);
    clients.push(pusher);
    await pusher.next((frame) => frame.event === 'pusher:connection_established');

    // Structured JSON logs (pino), the listening address, and never the app's secret or API key.
    const lines = running.stdoutLines();
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.some((record) => typeof record.msg === 'string' && record.msg.includes(`listening on http://0.0.0.0:${port}`))).toBe(true);
    expect(lines.join('\n')).not.toContain(APP.secret);
    expect(lines.join('\n')).not.toContain(APP.apiKeys[0]);

    const stopping = Date.now();
    running.child.kill(stage.stopSignal as NodeJS.Signals);
    await expect(bus.closed(SHUTDOWN_GRACE_MS)).resolves.toMatchObject({ code: 1012 });
    await expect(pusher.closed(SHUTDOWN_GRACE_MS)).resolves.toMatchObject({ code: 4200 });
    const exit = await Promise.race([
      running.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`still running ${SHUTDOWN_GRACE_MS} ms after SIGTERM\n${running.output()}`)), SHUTDOWN_GRACE_MS).unref(),
      ),
    ]);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - stopping).toBeLessThan(SHUTDOWN_GRACE_MS);
    expect(running.stdoutLines().every((line) => !line.includes(APP.secret))).toBe(true);
  }, BOOT_TIMEOUT_MS + SHUTDOWN_GRACE_MS + 15_000);
});
