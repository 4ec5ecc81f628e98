// `npm run bench` — Herald against a naive raw-`ws` baseline, in one run (issue 2 "Performance",
// issue 3/4 protocol modes, issue 5 `--nodes 2`). See bench/README.md for the method.
import { parseArgs } from 'node:util';
import { connect } from 'node:net';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, freePort, killAll, runCommand, startNode, stop } from './lib/children.mjs';
import { cpuMicros, nowMicros, openFileLimit, rssBytes } from './lib/proc.mjs';
import { DEV_APP } from './lib/protocols.mjs';
import { publishAll } from './lib/publisher.mjs';
import { WorkerPool } from './lib/workers.mjs';
import { evaluate, percentile, printChecks, printTables, targetsFor } from './lib/report.mjs';
import { summarizeProfiles } from './lib/profile-summary.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const USAGE = `Usage: npm run bench -- [options]
  --subscribers N     subscriber connections (default 5000; --quick 500)
  --messages M        messages per scenario (default 2000; --quick 300)
  --in-flight LIST    concurrent publishes per scenario, comma-separated (default 1,8)
  --protocol P        bus | pusher | rpc (default bus)
  --nodes K           1, or 2-3 Herald nodes on a cluster transport (default 1)
  --adapter A         redis | nats: the transport of --nodes > 1 (default redis; the machine's
                      Redis on 127.0.0.1:6379 or NATS on 127.0.0.1:4222, with a fresh key prefix)
  --rate R            add an open-loop scenario publishing M messages at R msg/s (8 in flight max)
  --only WHICH        baseline | herald (default both)
  --workers W         subscriber processes (default 1: the server gets one core, clients the other)
  --warmup K          warm-up messages before measuring (default 50)
  --stall-ms MS       abort a scenario when no delivery arrives for MS ms (default 15000)
  --profile           run Herald with --cpu-prof and print the hottest functions
  --no-build          do not run \`npm run build\` even if dist/ is stale
  --quick             smoke run: 500 subscribers, 300 messages, warm-up 20
  --help`;

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    messages: { type: 'string' },
    'in-flight': { type: 'string', default: '1,8' },
    protocol: { type: 'string', default: 'bus' },
    nodes: { type: 'string', default: '1' },
    adapter: { type: 'string', default: 'redis' },
    rate: { type: 'string' },
    only: { type: 'string' },
    workers: { type: 'string', default: '1' },
    warmup: { type: 'string' },
    'stall-ms': { type: 'string', default: '15000' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const opts = {
  subscribers: Number(args.subscribers ?? (args.quick ? 500 : 5000)),
  messages: Number(args.messages ?? (args.quick ? 300 : 2000)),
  inFlight: args['in-flight'].split(',').map(Number),
  protocol: args.protocol,
  nodes: Number(args.nodes),
  adapter: args.adapter,
  rate: args.rate ? Number(args.rate) : undefined,
  only: args.only,
  workers: Number(args.workers),
  warmup: Number(args.warmup ?? (args.quick ? 20 : 50)),
  stallMs: Number(args['stall-ms']),
  profile: args.profile,
  build: !args['no-build'],
  quick: args.quick,
};
const bad = [];
if (!(opts.subscribers >= 1)) bad.push('--subscribers must be ≥ 1');
if (!(opts.messages >= 1)) bad.push('--messages must be ≥ 1');
if (!opts.inFlight.every((c) => Number.isInteger(c) && c >= 1)) bad.push('--in-flight must list integers ≥ 1');
if (!['bus', 'pusher', 'rpc'].includes(opts.protocol)) bad.push('--protocol must be bus, pusher or rpc');
if (![1, 2, 3].includes(opts.nodes)) bad.push('--nodes must be 1, 2 or 3');
if (!['redis', 'nats'].includes(opts.adapter)) bad.push('--adapter must be redis or nats');
if (opts.only && !['baseline', 'herald'].includes(opts.only)) bad.push('--only must be baseline or herald');
if (!(opts.workers >= 1)) bad.push('--workers must be ≥ 1');
if (opts.rate !== undefined && !(opts.rate > 0)) bad.push('--rate must be > 0');
if (bad.length) {
  console.error(`${bad.join('\n')}\n\n${USAGE}`);
  process.exit(2);
}

process.on('uncaughtException', (error) => {
  console.error(`bench: ${error.stack ?? error}`);
  killAll();
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------- setup

function checkFileLimit() {
  const limit = openFileLimit();
  const perWorker = Math.ceil(opts.subscribers / opts.workers);
  const serverNeeds = Math.ceil(opts.subscribers / opts.nodes) + 200;
  const need = Math.max(perWorker + 100, serverNeeds);
  console.log(`ulimit -n: ${limit} (needs ≥ ${need}: ${serverNeeds} in each server, ${perWorker + 100} in each client worker)`);
  if (limit < need) {
    throw new Error(
      `open-file limit ${limit} is too low for ${opts.subscribers} subscribers; run \`ulimit -n ${Math.max(need, 20000)}\` ` +
        'in this shell first (or lower --subscribers / raise --workers)',
    );
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function ensureBuilt() {
  const main = join(ROOT, 'dist', 'main.js');
  const stale = !existsSync(main) || statSync(main).mtimeMs < newestMtime(join(ROOT, 'src'));
  if (!stale) return;
  if (!opts.build) {
    console.log('dist/ is missing or older than src/, but --no-build was given: using it as is');
    if (!existsSync(main)) throw new Error('dist/main.js does not exist; run `npm run build`');
    return;
  }
  console.log('dist/ is missing or older than src/: npm run build …');
  await runCommand('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 300_000 });
  if (!existsSync(main)) throw new Error('npm run build succeeded but dist/main.js is missing');
}


function tcpReachable(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `GET path` until 200, the child dies, or `timeoutMs`. */
async function waitReady(child, port, path, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) during start-up:\n  ${child.tail.join('\n  ')}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (error) {
      last = error.message;
    }
    await sleep(200);
  }
  throw new Error(`${what} not ready on ${path} within ${timeoutMs} ms (last: ${last}); log: ${child.logPath}\n  ${child.tail.join('\n  ')}`);
}

// ---------------------------------------------------------------------------------------------- servers

async function startBaseline() {
  const port = await freePort();
  const child = startNode(join(ROOT, 'bench', 'baseline-server.mjs'), {
    cwd: ROOT,
    env: { PORT: String(port), BENCH_PROTOCOL: opts.protocol },
    logName: 'baseline',
  });
  await waitReady(child, port, '/health', 15_000, 'baseline server');
  return [{ child, port }];
}

const BROKERS = {
  redis: { port: 6379, env: { HERALD_ADAPTER: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' } },
  nats: { port: 4222, env: { HERALD_ADAPTER: 'nats', NATS_URL: 'nats://127.0.0.1:4222' } },
};

async function startHerald(nodes) {
  const broker = BROKERS[opts.adapter];
  if (nodes > 1 && !(await tcpReachable('127.0.0.1', broker.port))) {
    throw new Error(`--nodes needs ${opts.adapter} on 127.0.0.1:${broker.port} (HERALD_ADAPTER=${opts.adapter}), but nothing answers there`);
  }
  // A prefix of its own per run: no state left by an earlier run (or a crashed node) is seen.
  const prefix = `bench${process.pid}${Date.now().toString(36)}`;
  const servers = [];
  for (let k = 0; k < nodes; k++) {
    const port = await freePort();
    // The embedded dev app must apply: an inherited HERALD_APPS/HERALD_CONFIG would change the credentials.
    const env = { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', HERALD_APPS: undefined, HERALD_CONFIG: undefined };
    if (nodes > 1) Object.assign(env, broker.env, { HERALD_CLUSTER_PREFIX: prefix });
    const nodeArgs = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT_DIR, 'profiles')}`] : [];
    const child = startNode(join(ROOT, 'dist', 'main.js'), {
      cwd: ROOT,
      env,
      logName: nodes > 1 ? `herald-node${k + 1}` : 'herald',
      nodeArgs,
    });
    servers.push({ child, port });
  }
  for (const s of servers) await waitReady(s.child, s.port, '/health/ready', 60_000, `Herald (${nodes > 1 ? `${opts.adapter} adapter` : 'local'})`);
  return servers;
}

// ---------------------------------------------------------------------------------------------- measuring

const sum = (servers, f) => servers.reduce((s, { child }) => s + f(child.pid), 0);

/** Publishes `messages` with `concurrency` in flight and waits until every subscriber has them all. */
async function scenario(pool, servers, publishTo, kind, { messages, concurrency, rate, seqBase }) {
  const expected = messages * opts.subscribers;
  await pool.reset(messages);
  const cpu0 = sum(servers, cpuMicros);
  const t0 = nowMicros();
  let publishError;
  let publishedAt = 0;
  const publishing = publishAll(publishTo, kind, opts.protocol, {
    messages,
    concurrency,
    ratePerSec: rate,
    timeoutMs: 30_000,
    seqBase,
  }).then(
    () => (publishedAt = nowMicros()),
    (error) => (publishError = error),
  );
  let lastCount = -1;
  let lastChange = Date.now();
  let stalled = false;
  while (!publishError) {
    if (publishedAt && pool.allDone) break;
    const count = pool.received;
    if (count !== lastCount) {
      lastCount = count;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > opts.stallMs) {
      stalled = true;
      break;
    }
    await sleep(20);
  }
  const cpu1 = sum(servers, cpuMicros);
  if (publishError) await publishing;
  const got = await pool.collect();
  const doneAt = got.doneAt || nowMicros();
  const seconds = (doneAt - t0) / 1e6;
  const sorted = got.samples.sort();
  const result = {
    messages,
    concurrency,
    rate,
    expected,
    delivered: got.received,
    deliveredPct: (100 * got.received) / expected,
    seconds,
    deliveriesPerSec: got.received / seconds,
    publishesPerSec: publishedAt ? messages / ((publishedAt - t0) / 1e6) : NaN,
    cpuMicrosPerDelivery: (cpu1 - cpu0) / got.received,
    serverCpuPct: (100 * (cpu1 - cpu0)) / (seconds * 1e6),
    clientCpuPct: (100 * got.clientCpuMicros) / (seconds * 1e6),
    p50Ms: percentile(sorted, 50) / 1000,
    p90Ms: percentile(sorted, 90) / 1000,
    p99Ms: percentile(sorted, 99) / 1000,
    maxMs: sorted.length ? sorted[sorted.length - 1] / 1000 : NaN,
    latencySamples: sorted.length,
    badFrames: got.badFrames,
    serverCloses: got.closes,
  };
  if (got.badFrames) result.firstBadFrame = got.firstBad;
  if (publishError) throw Object.assign(publishError, { partial: result });
  if (stalled) {
    const hint =
      got.closes.length > 0 ? ` (the server closed sockets: ${got.closes.map(([k, c]) => `${c}× ${k}`).join(', ')})` : '';
    const share = got.received / expected;
    const clusterHint =
      servers.length > 1 && Math.abs(share - 1 / servers.length) < 0.02
        ? ' — only the subscribers of the publishing node got them: cross-node delivery is missing ' +
          '(is the HERALD_ADAPTER=redis cluster transport of issue 5 in this build?)'
        : '';
    const err = new Error(
      `deliveries stalled: ${got.received.toLocaleString()} of ${expected.toLocaleString()} arrived, ` +
        `none in the last ${opts.stallMs} ms${hint}${clusterHint}`,
    );
    throw Object.assign(err, { partial: result });
  }
  return result;
}

/** Fills `out` as it goes, so a failure keeps what was measured before it. */
async function runTarget(name, kind, start, out) {
  console.log(`\n▶ ${name}: starting`);
  const servers = await start();
  let pool;
  try {
    await sleep(1000);
    const rss0 = sum(servers, rssBytes);
    pool = new WorkerPool(opts.workers, opts.subscribers);
    const t = Date.now();
    const bases = servers.map((s) => `ws://127.0.0.1:${s.port}`);
    const conn = await pool.connect(
      {
        protocol: opts.protocol,
        bases,
        app: DEV_APP,
        sampleEvery: Math.max(1, Math.floor(opts.subscribers / 250)),
        concurrency: 64,
        timeoutMs: 15_000,
      },
      Math.max(60_000, opts.subscribers * 20),
    );
    if (conn.failed > 0) {
      const why = conn.errors.map(([e, c]) => `${c}× ${e}`).join('\n    ');
      const notServed = conn.errors.every(([e]) => e.startsWith('upgrade refused: HTTP 404'));
      const hint = notServed ? ` — this build does not serve the ${opts.protocol} endpoint (not implemented yet?)` : '';
      throw new Error(
        `${conn.failed} of ${opts.subscribers} ${opts.protocol} subscribers could not connect/subscribe to ${name}${hint}\n    ${why}`,
      );
    }
    console.log(`  ${conn.ready} ${opts.protocol} subscribers ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await sleep(2000); // idle: pings answered, allocations settled
    const rss1 = sum(servers, rssBytes);
    const idle = await pool.collect();
    if (idle.open !== opts.subscribers) {
      throw new Error(
        `${opts.subscribers - idle.open} subscribers were closed while idle: ${idle.closes.map(([k, c]) => `${c}× ${k}`).join(', ')}`,
      );
    }
    out.rssBeforeBytes = rss0;
    out.rssIdleBytes = rss1;
    out.memPerConnBytes = (rss1 - rss0) / opts.subscribers;
    console.log(`  RSS ${(rss0 / 1048576).toFixed(1)} → ${(rss1 / 1048576).toFixed(1)} MiB: ${(out.memPerConnBytes / 1024).toFixed(2)} KiB per idle connection`);

    const publishTo = { host: '127.0.0.1', port: servers[0].port };
    let seqBase = 0;
    if (opts.warmup > 0) {
      await scenario(pool, servers, publishTo, kind, { messages: opts.warmup, concurrency: 1, seqBase });
      seqBase += opts.warmup;
    }
    const plans = opts.inFlight.map((c) => ({ key: String(c), concurrency: c }));
    if (opts.rate) plans.push({ key: `rate${opts.rate}`, concurrency: 8, rate: opts.rate });
    for (const plan of plans) {
      try {
        const r = await scenario(pool, servers, publishTo, kind, { messages: opts.messages, ...plan, seqBase });
        out.scenarios[plan.key] = r;
        console.log(
          `  ${plan.rate ? `${plan.rate} msg/s` : `${plan.concurrency} in flight`}: ` +
            `${Math.round(r.deliveriesPerSec).toLocaleString()} deliveries/s, ${r.cpuMicrosPerDelivery.toFixed(2)} µs CPU/delivery, ` +
            `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (server ${r.serverCpuPct.toFixed(0)}% / clients ${r.clientCpuPct.toFixed(0)}% of a core)` +
            (r.badFrames ? `\n  ⚠ ${r.badFrames} clients got an unexpected first frame: ${r.firstBadFrame}` : ''),
        );
      } catch (error) {
        if (error.partial) out.scenarios[plan.key] = error.partial;
        throw error;
      } finally {
        seqBase += opts.messages;
      }
    }
  } finally {
    await pool?.close();
    await Promise.all(servers.map((s) => stop(s.child, opts.profile ? 15_000 : 3000)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- main

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  console.log(
    `Herald bench: protocol ${opts.protocol}, ${opts.subscribers} subscribers, ${opts.messages} messages, ` +
      `in flight ${opts.inFlight.join('/')}${opts.nodes > 1 ? `, ${opts.nodes} Herald nodes (${opts.adapter})` : ''}, ` +
      `${cpus().length} CPUs, node ${process.version}`,
  );
  checkFileLimit();
  const plan = [];
  if (opts.only !== 'herald') plan.push(['baseline', 'baseline', startBaseline]);
  if (opts.only !== 'baseline') {
    plan.push(['herald', 'herald', () => startHerald(1)]);
    if (opts.nodes > 1) plan.push(['herald-cluster', 'herald', () => startHerald(opts.nodes)]);
  }
  if (plan.some(([, kind]) => kind === 'herald')) await ensureBuilt();

  const results = {};
  const failures = [];
  for (const [name, kind, start] of plan) {
    results[name] = { scenarios: {} };
    try {
      await runTarget(name, kind, start, results[name]);
    } catch (error) {
      console.error(`✗ ${name}: ${error.message}`);
      failures.push({ target: name, error: error.message.split('\n')[0] });
      results[name].error = error.message;
    }
  }

  const columns = plan.map(([name]) => name);
  const scenarios = opts.inFlight
    .map((c) => ({ key: String(c), title: `${c} publish${c > 1 ? 'es' : ''} in flight` }))
    .concat(opts.rate ? [{ key: `rate${opts.rate}`, title: `open loop at ${opts.rate} msg/s` }] : []);
  console.log(printTables(results, columns, scenarios, `${opts.protocol}, ${opts.subscribers} subscribers × ${opts.messages} messages`));
  // Only the targets whose subject (and comparison) ran: `--only herald` still checks the cluster against one node.
  const runnable = targetsFor(opts).filter((t) => columns.includes(t.subject) && (t.against === undefined || columns.includes(t.against)));
  const checks = evaluate(results, runnable);
  if (checks.length) console.log(printChecks(checks));

  let profile;
  if (opts.profile) {
    profile = summarizeProfiles(join(OUT_DIR, 'profiles'));
    if (profile) console.log(`\n${profile.text}`);
  }

  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, 'results.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        commit: gitCommit(),
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        options: opts,
        results,
        checks,
        failures,
        profile: profile?.top,
      },
      null,
      2,
    ),
  );
  console.log(`\nresults: ${file}`);
  if (failures.length) {
    console.error(`\nbench FAILED for: ${failures.map((f) => `${f.target} (${f.error})`).join('; ')}`);
    process.exitCode = 1;
  }
}

const overall = setTimeout(() => {
  console.error('bench: overall time limit (2 h) reached; stopping');
  killAll();
  process.exit(1);
}, 2 * 3600 * 1000);
overall.unref();

main()
  .catch((error) => {
    console.error(`bench: ${error.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    // Workers' IPC channels and timers must not keep us alive.
    setTimeout(() => process.exit(), 100).unref();
  });
