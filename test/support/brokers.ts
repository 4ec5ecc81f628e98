import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real Redis and NATS servers started for one test file, on free ports, with no persistence, so a
 * test never sees another run's state and can restart a broker mid-stream. When the binary is
 * missing the cluster tests skip, except with `CI=true`, where a missing service fails the run.
 */
export interface Broker {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved). */
  start(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasBinary(name: string): boolean {
  return spawnSync('which', [name]).status === 0;
}

/** True when the binaries exist; with CI=true a missing one throws instead. */
export function brokersAvailable(...names: ('redis-server' | 'nats-server')[]): boolean {
  const missing = names.filter((name) => !hasBinary(name));
  if (missing.length === 0) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${missing.join(', ')} not found on PATH`);
  return false;
}

function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startBroker(command: string, args: (port: number) => string[], scheme: string): Promise<Broker> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const broker: Broker = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(command, args(port), { stdio: 'ignore' });
      await waitForPort(port);
    },
    async stop() {
      if (!child) return;
      const current = child;
      child = undefined;
      current.kill('SIGTERM');
      await exited(current);
    },
  };
  await broker.start();
  return broker;
}

export function startRedis(): Promise<Broker> {
  return startBroker('redis-server', (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'redis');
}

/** NATS with JetStream (in a store directory of its own, removed when the test process exits) unless `jetstream: false`. */
export function startNats({ jetstream = true } = {}): Promise<Broker> {
  const store = jetstream ? mkdtempSync(join(tmpdir(), 'herald-nats-')) : undefined;
  if (store) process.once('exit', () => rmSync(store, { recursive: true, force: true }));
  return startBroker('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port), ...(store ? ['-js', '-sd', store] : [])], 'nats');
}
