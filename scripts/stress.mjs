// `npm run stress` — Herald under the abuse of issue 10: slow readers, echo floods, replay loops, history
// floods, half-open upgrades and churn. Loopback only, bounded in count and time; it starts its own Herald
// child from dist/ (`node dist/main.js`), samples the child's RSS from /proc and the event-loop delay from
// /metrics (prom-client's `nodejs_eventloop_lag_max_seconds`, reset at each scrape), and stops by itself.
//
//   npm run stress -- [--only a,b] [--readers N] [--messages M] [--no-build]
//
// Scenarios: stalled-reader, reply-echo, replay-amplification, history-flood, half-open-upgrade, connection-churn.
import { parseArgs } from 'node:util';
import http from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNode, stop } from '../bench/lib/children.mjs';
import { rssBytes, openFileLimit } from '../bench/lib/proc.mjs';
import { maskedClientFrame } from '../bench/lib/raw-ws.mjs';
import { connectRaw } from '../bench/lib/raw-ws.mjs';
import { signJwt } from '../bench/lib/jwt.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['stalled-reader', 'reply-echo', 'replay-amplification', 'history-flood', 'half-open-upgrade', 'connection-churn'];
const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    readers: { type: 'string', default: '5000' },
    messages: { type: 'string', default: '1500' },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npm run stress -- [--only ${SCENARIOS.join(',')}] [--readers N (5000)] [--messages M (1500)] [--no-build]`);
  process.exit(0);
}
const only = args.only ? args.only.split(',') : SCENARIOS;
const READERS = Number(args.readers);
const MESSAGES = Number(args.messages);
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret', apiKey: 'app-api-key' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const token = (claims) => signJwt({ aud: 'broadcaster', ...claims }, APP.secret);

// ------------------------------------------------------------------------------------------- the server


function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function build() {
  const main = join(ROOT, 'dist', 'main.js');
  if (args['no-build'] && existsSync(main)) return;
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  console.log('building dist/ …');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** A Herald child on a free loopback port, with a sampler of its RSS and event-loop delay. */
async function startHerald(name, env = {}) {
  const port = await freePort();
  const child = startNode(join(ROOT, 'dist', 'main.js'), {
    cwd: ROOT,
    env: { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
    logName: `stress-${name}`,
    nodeArgs: process.env.STRESS_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, '.bench-out', 'stress-profiles')}`] : [],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Herald exited at start:\n${child.tail.join('\n')}`);
    try {
      if ((await fetch(`${base}/health/ready`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('Herald did not become ready');
    await sleep(100);
  }
  const server = { child, port, base, peakRss: 0, maxStallMs: 0, exited: false };
  child.once('exit', (code, signal) => {
    server.exited = code !== 0 || signal !== null ? `${code ?? signal}` : false;
  });
  server.rss = () => (child.exitCode === null ? rssBytes(child.pid) : NaN);
  server.startRss = server.rss();
  // Sampled every 250 ms: RSS; every second the largest event-loop delay since the previous scrape
  // (a scrape costs the server a readdir of /proc/self/fd: not more often).
  let scraping = false;
  let tick = 0;
  const sample = async () => {
    const rss = server.rss();
    if (rss > server.peakRss) server.peakRss = rss;
    if (tick++ % 4 !== 0 || scraping || child.exitCode !== null) return;
    scraping = true;
    try {
      const stall = await eventLoopMaxMs(base);
      if (stall > server.maxStallMs) server.maxStallMs = stall;
    } finally {
      scraping = false;
    }
  };
  // A scrape that fails is counted by the liveness check of the scenario.
  const timer = setInterval(() => {
    sample().catch(() => undefined);
  }, 250);
  server.resetPeaks = () => {
    server.peakRss = server.rss();
    server.maxStallMs = 0;
  };
  server.stop = async () => {
    clearInterval(timer);
    await stop(child, 5000);
  };
  return server;
}

async function eventLoopMaxMs(base) {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  const match = /^herald_nodejs_eventloop_lag_max_seconds\s+([0-9.eE+-]+)/m.exec(text);
  return match ? Number(match[1]) * 1000 : 0;
}

async function gauge(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function live(base) {
  try {
    return (await fetch(`${base}/health/live`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------- clients

/** A raw TCP WebSocket that completes the handshake and never reads again (socket.pause()). */
function pausedSocket(port, path) {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('handshake timed out'));
    }, 20_000);
    socket.on('error', () => undefined);
    socket.on('data', function onData(chunk) {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(head.slice(0, 80)));
      }
    });
    socket.once('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
  });
}

/** A masked client text frame. */
function maskedFrame(text) {
  return maskedClientFrame(0x1, Buffer.from(text));
}

async function openMany(count, open, concurrency = 200) {
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await open(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** A REST POST on a keep-alive agent (lighter on the client than fetch, so the figures are the server's). */
function post(base, path, body) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { authorization: `Bearer ${APP.apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Publishes `count` tenant-wide 1 KB bus messages, `inFlight` at a time; resolves when all were accepted. */
async function publishStream(base, count, inFlight = 8, tag = 's') {
  const pad = 'x'.repeat(1000);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      await post(base, '/api/messages', `{"cmd":"STRESS","data":{"t":"${tag}","n":${n},"pad":"${pad}"}}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** A healthy bus reader counting `STRESS` frames of one tag. */
async function healthyReader(port, sub) {
  const ws = await connectRaw(`ws://127.0.0.1:${port}/ws/bus?token=${token({ sub })}`, 10_000);
  const reader = { ws, counts: new Map(), waiters: [] };
  ws.onMessage = (_opcode, buf, start, end) => {
    const text = buf.toString('latin1', start, Math.min(end, start + 120));
    const match = /"t":"(\w+)"/.exec(text);
    if (!match) return;
    const count = (reader.counts.get(match[1]) ?? 0) + 1;
    reader.counts.set(match[1], count);
    for (const waiter of reader.waiters) waiter();
  };
  ws.start();
  reader.until = (tag, count, timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if ((reader.counts.get(tag) ?? 0) >= count) {
          reader.waiters = reader.waiters.filter((w) => w !== check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => reject(new Error(`healthy reader got ${reader.counts.get(tag) ?? 0}/${count} of "${tag}"`)), timeoutMs);
      reader.waiters.push(check);
      check();
    });
  return reader;
}

async function throughput(server, reader, tag, count) {
  const started = performance.now();
  await Promise.all([publishStream(server.base, count, 8, tag), reader.until(tag, count, 120_000)]);
  return (count / (performance.now() - started)) * 1000;
}

async function waitFor(predicate, timeoutMs, stepMs = 250) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await sleep(stepMs);
  }
  return false;
}

// ------------------------------------------------------------------------------------------- scenarios

const results = [];
const report = (scenario, figures, verdicts) => {
  results.push({ scenario, figures, verdicts });
  console.log(`\n== ${scenario}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(44)} ${v}`);
  for (const [k, ok] of Object.entries(verdicts)) console.log(`  ${ok ? 'PASS' : 'FAIL'} ${k}`);
};

async function stalledReader() {
  const server = await startHerald('stalled', { HERALD_PING_INTERVAL_MS: '30000' });
  try {
    const reader = await healthyReader(server.port, 'healthy');
    await throughput(server, reader, 'warm', 200);
    const alone = await throughput(server, reader, 'alone', MESSAGES);
    const sockets = await openMany(READERS, (i) => pausedSocket(server.port, `/ws/bus?token=${token({ sub: `paused-${i}` })}`));
    server.resetPeaks();
    const opened = Date.now();
    // Fill: the kernel takes a few hundred KB for each paused reader before its socket is behind; the
    // measurement is of the steady state that follows (what a node with stalled readers lives with).
    const fillStart = Date.now();
    let filled = 0;
    while (Date.now() - fillStart < 60_000) {
      await throughput(server, reader, `fill${filled++}`, 200);
      if ((await gauge(server.base, 'herald_lagging_connections')) >= READERS * 0.95) break;
    }
    const lagging = await gauge(server.base, 'herald_lagging_connections');
    const fillSeconds = (Date.now() - fillStart) / 1000;
    const withStalled = await throughput(server, reader, 'stalled', MESSAGES);
    const peakRss = server.peakRss;
    const stallDuringStream = server.maxStallMs;
    // Liveness reaps the paused readers (they answer no ping): two intervals after they connected.
    server.maxStallMs = 0;
    const reaped = await waitFor(async () => (await gauge(server.base, 'herald_connected')) <= 1, 30_000 + Math.max(0, opened + 90_000 - Date.now()));
    await sleep(500);
    const stallWhileReaping = server.maxStallMs;
    const liveAfter = await live(server.base);
    // Alone again, warmed up like the run beside the paused readers; the ratio is to the better of the two.
    const aloneAfter = await throughput(server, reader, 'alone2', MESSAGES);
    const ratio = withStalled / Math.max(alone, aloneAfter);
    for (const socket of sockets) socket.destroy();
    report(
      'stalled-reader',
      {
        'paused bus readers': READERS,
        'healthy reader alone, before / after (msg/s)': `${alone.toFixed(0)} / ${aloneAfter.toFixed(0)}`,
        'paused readers behind after the fill': `${lagging} (fill ${fillSeconds.toFixed(0)} s)`,
        'healthy reader beside paused readers (msg/s)': withStalled.toFixed(0),
        'ratio (to the better alone figure)': ratio.toFixed(2),
        'RSS at start': MB(server.startRss),
        'peak RSS with paused readers': MB(peakRss),
        'longest event-loop stall while streaming': `${stallDuringStream.toFixed(0)} ms`,
        'longest event-loop stall while reaping': `${stallWhileReaping.toFixed(0)} ms`,
        'paused readers reaped by liveness': reaped ? 'yes' : 'no',
      },
      {
        'peak RSS < 500 MB': peakRss < 500 * 1024 * 1024,
        'healthy reader >= 0.8x alone': ratio >= 0.8,
        'no stall > 200 ms (streaming and reaping)': Math.max(stallDuringStream, stallWhileReaping) <= 200,
        'reaped, /health/live answers, no exit': reaped && liveAfter && !server.exited,
      },
    );
  } finally {
    await server.stop();
  }
}

async function replyEcho() {
  const server = await startHerald('echo');
  try {
    const clients = 40;
    const sockets = await openMany(clients, (i) => pausedSocket(server.port, `/ws/bus?token=${token({ sub: `echo-${i}` })}`));
    server.resetPeaks();
    const frame = maskedFrame(JSON.stringify({ id: 'i'.repeat(60_000), cmd: 'ping', data: {} }));
    // 90 frames/s per client for 20 s.
    const end = Date.now() + 20_000;
    while (Date.now() < end && !server.exited) {
      for (const socket of sockets) if (!socket.destroyed) for (let k = 0; k < 9; k++) socket.write(frame);
      await sleep(100);
    }
    const remaining = await gauge(server.base, 'herald_connected');
    const peak = server.peakRss;
    for (const socket of sockets) socket.destroy();
    report(
      'reply-echo',
      {
        'paused bus clients sending 90 × 60 KB-id frames/s': clients,
        'RSS at start': MB(server.startRss),
        'peak RSS': MB(peak),
        'clients still connected after 20 s (their requests wait while they do not read)': remaining,
        'longest event-loop stall': `${server.maxStallMs.toFixed(0)} ms`,
      },
      {
        'RSS growth < 100 MB': peak - server.startRss < 100 * 1024 * 1024,
        'no exit': !server.exited,
      },
    );
  } finally {
    await server.stop();
  }
}

async function replayAmplification() {
  const server = await startHerald('replay', { HERALD_MAX_FRAMES_PER_SECOND: '-1' });
  try {
    const pad = 'r'.repeat(60_000);
    let epoch = '';
    for (let n = 0; n < 128; n++) {
      const res = await fetch(`${server.base}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${APP.apiKey}`, 'content-type': 'application/json' },
        body: `{"channel":"replay","event":"e","payload":{"n":${n},"pad":"${pad}"}}`,
      });
      epoch = (await res.json()).epoch ?? epoch;
    }
    const clients = 10;
    const sockets = await openMany(clients, (i) => pausedSocket(server.port, `/ws/rpc?token=${token({ sub: `loop-${i}`, scope: ['subscribe'], authorizedChannels: ['*'] })}`));
    server.resetPeaks();
    const pairs = 150;
    let id = 0;
    for (let pair = 0; pair < pairs; pair++) {
      for (const socket of sockets) {
        socket.write(maskedFrame(JSON.stringify({ id: ++id, method: 'subscribe', params: { channel: 'replay', since: { offset: 0, epoch } } })));
        socket.write(maskedFrame(JSON.stringify({ id: ++id, method: 'unsubscribe', params: { channel: 'replay' } })));
      }
      await sleep(20);
    }
    await sleep(2000);
    const peak = server.peakRss;
    for (const socket of sockets) socket.destroy();
    await waitFor(async () => (await gauge(server.base, 'herald_connected')) === 0, 10_000);
    await sleep(1000);
    const after = server.rss();
    report(
      'replay-amplification',
      {
        'paused RPC clients × subscribe{since:0}/unsubscribe pairs': `${clients} × ${pairs} (channel: 128 × 60 KB)`,
        'RSS at start': MB(server.startRss),
        'peak RSS': MB(peak),
        'RSS after the clients closed': MB(after),
        'longest event-loop stall': `${server.maxStallMs.toFixed(0)} ms`,
      },
      { 'peak RSS < 500 MB': peak < 500 * 1024 * 1024, 'no exit': !server.exited },
    );
  } finally {
    await server.stop();
  }
}

async function historyFlood() {
  const server = await startHerald('history');
  try {
    // ~57 KB of nested small objects: heavy as parsed objects, light as the text that was sent.
    const payload = JSON.stringify({ rows: Array.from({ length: 1900 }, (_, i) => ({ k: i, v: [{ a: 'x' }] })) });
    const clients = await openMany(3, (i) => connectRaw(`ws://127.0.0.1:${server.port}/ws/rpc?token=${token({ sub: `amp-${i}`, scope: ['publish'], authorizedChannels: ['amp:*'] })}`, 10_000));
    for (const ws of clients) {
      ws.onMessage = () => undefined;
      ws.start();
    }
    server.resetPeaks();
    let channel = 0;
    const end = Date.now() + 30_000;
    while (Date.now() < end && !server.exited) {
      // 40 frames/s on each connection, every one to a fresh channel.
      for (const ws of clients) for (let k = 0; k < 4; k++) ws.send(`{"id":${channel},"method":"publish","params":{"channel":"amp:${channel++}","event":"e","payload":${payload}}}`);
      await sleep(100);
    }
    const peak = server.peakRss;
    for (const ws of clients) ws.terminate();
    report(
      'history-flood',
      {
        'RPC publishers × frames/s × payload': `3 × 40 × ${(payload.length / 1024).toFixed(0)} KB, 30 s, ${channel} fresh channels`,
        'RSS at start': MB(server.startRss),
        'peak RSS': MB(peak),
        'longest event-loop stall': `${server.maxStallMs.toFixed(0)} ms`,
      },
      // The issue's target for this scenario is "no OOM or exit"; 1 GB flags unbounded growth (it was an OOM at 82 s).
      { 'peak RSS < 1 GB (bounded)': peak < 1024 * 1024 * 1024, 'no OOM or exit': !server.exited },
    );
  } finally {
    await server.stop();
  }
}

async function halfOpenUpgrade() {
  const server = await startHerald('halfopen');
  try {
    const count = 2000;
    const sockets = await openMany(count, () => new Promise((resolve) => {
      const socket = tcpConnect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        socket.write(`GET /ws/bus?app=${APP.key} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n`);
        resolve(socket);
      });
    }));
    const liveDuring = await live(server.base);
    const waitMs = 40_000;
    await waitFor(async () => sockets.every((s) => s.destroyed || s.readableEnded), waitMs, 500);
    const closed = sockets.filter((s) => s.destroyed || s.readableEnded).length;
    const liveAfter = await live(server.base);
    for (const socket of sockets) socket.destroy();
    report(
      'half-open-upgrade',
      {
        'partial upgrade requests': count,
        [`closed by the server within ${waitMs / 1000} s`]: closed,
        '/health/live while they are open': liveDuring ? 'answers' : 'no answer',
        'longest event-loop stall': `${server.maxStallMs.toFixed(0)} ms`,
      },
      { 'all closed by the server': closed === count, '/health/live answers': liveDuring && liveAfter, 'no exit': !server.exited },
    );
  } finally {
    await server.stop();
  }
}

async function connectionChurn() {
  const server = await startHerald('churn');
  try {
    const rounds = 10;
    const perRound = 500;
    const startConnections = await gauge(server.base, 'herald_connected');
    const startRss = server.rss();
    for (let round = 0; round < rounds; round++) {
      const sockets = await openMany(perRound, (i) => connectRaw(`ws://127.0.0.1:${server.port}/ws/bus?token=${token({ sub: `churn-${round}-${i}` })}`, 10_000));
      for (const ws of sockets) ws.terminate();
    }
    await waitFor(async () => (await gauge(server.base, 'herald_connected')) === startConnections, 15_000);
    await sleep(1000);
    const endConnections = await gauge(server.base, 'herald_connected');
    const endRss = server.rss();
    report(
      'connection-churn',
      {
        'connections opened and closed': rounds * perRound,
        'connections at start / end': `${startConnections} / ${endConnections}`,
        'RSS at start / end': `${MB(startRss)} / ${MB(endRss)}`,
        'peak RSS': MB(server.peakRss),
        'longest event-loop stall': `${server.maxStallMs.toFixed(0)} ms`,
      },
      { 'connections back to start': endConnections === startConnections, 'RSS back within 50 MB of start': endRss - startRss < 50 * 1024 * 1024, 'no exit': !server.exited },
    );
  } finally {
    await server.stop();
  }
}

const RUN = {
  'stalled-reader': stalledReader,
  'reply-echo': replyEcho,
  'replay-amplification': replayAmplification,
  'history-flood': historyFlood,
  'half-open-upgrade': halfOpenUpgrade,
  'connection-churn': connectionChurn,
};

build();
console.log(`stress: ${only.join(', ')} (open-file limit ${openFileLimit()}, ${READERS} paused readers, ${MESSAGES} messages per throughput run)`);
const hardStop = setTimeout(() => {
  console.error('stress: 15 min budget exceeded, stopping');
  process.exit(2);
}, 15 * 60_000);
hardStop.unref();
let failed = false;
for (const name of only) {
  if (!RUN[name]) throw new Error(`unknown scenario ${name}; one of ${SCENARIOS.join(', ')}`);
  try {
    await RUN[name]();
  } catch (error) {
    failed = true;
    console.log(`\n== ${name}\n  FAIL ${error instanceof Error ? error.message : String(error)}`);
  }
}
failed ||= results.some((r) => Object.values(r.verdicts).some((ok) => !ok));
console.log(`\nstress: ${failed ? 'some targets missed' : 'every target met'}`);
process.exit(failed ? 1 : 0);
