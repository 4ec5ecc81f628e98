// Every child process the bench starts is registered here and killed on any exit path
// (normal end, error, SIGINT/SIGTERM, uncaught exception). Children also die on their own if the bench
// is SIGKILLed (servers via exit-with-parent.mjs, workers via the IPC 'disconnect' event).
import { spawn, fork } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = join(here, '..', '..', '.bench-out');
const children = new Set();

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

process.on('exit', () => killAll('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every child and exiting`);
    killAll('SIGKILL');
    process.exit(130);
  });
}

/**
 * Starts a Node server script (env values `undefined` are removed from the inherited env) with the exit-with-parent preload; stdout/stderr go to
 * .bench-out/<logName>.log (the last lines are shown if it dies).
 */
export function startNode(script, { env, cwd, logName, nodeArgs = [] }) {
  mkdirSync(OUT_DIR, { recursive: true });
  const logPath = join(OUT_DIR, `${logName}.log`);
  const log = createWriteStream(logPath);
  const fullEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const child = spawn(process.execPath, ['--import', join(here, 'exit-with-parent.mjs'), ...nodeArgs, script], {
    cwd,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.tail = [];
  const keep = (chunk) => {
    log.write(chunk);
    child.tail.push(...chunk.toString().split('\n').filter(Boolean));
    if (child.tail.length > 40) child.tail.splice(0, child.tail.length - 40);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.logPath = logPath;
  return track(child);
}

export function forkWorker(script) {
  return track(fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export function stop(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs a command to completion with a timeout; rejects with its output on failure. */
export function runCommand(cmd, args, { cwd, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${output.slice(-3000)}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${output.slice(-3000)}`));
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1 (for a child server to listen on). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
