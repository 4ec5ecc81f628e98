import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import request from 'supertest';
import WebSocket from 'ws';
import { freePort } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { hasHead, maskedFrame, rawExchange, rawSocket, statusOf, upgradeHead } from './support/raw-http.js';
import { userToken } from './support/tokens.js';

/**
 * Issue 10, items 1, 2, 3 and the upgrade-path property: inputs that used to end the process, sent to a real
 * `node dist/main.js` (built once for this file), because only a process boundary proves "the process never
 * exits". After every case the node must still run and answer `/health/live`.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface NodeProcess {
  port: number;
  metricsPort: number;
  baseUrl: string;
  child: ChildProcess;
  output: () => string;
}

let node: NodeProcess;

async function startNode(env: Record<string, string> = {}): Promise<NodeProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, PORT: String(port), METRICS_PORT: String(metricsPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const started: NodeProcess = { port, metricsPort, baseUrl: `http://127.0.0.1:${port}`, child, output: () => output };
  await eventually(async () => expect((await request(started.baseUrl).get('/health/live')).status).toBe(200), 20_000, 100);
  return started;
}

/** Whether the node process has ended (it exits on its own only by crashing: nothing here stops it). */
async function exited(): Promise<boolean> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return true;
  // An exit in progress (the crash was the last thing the case did) shows within a liveness round trip.
  const live = await request(node.baseUrl).get('/health/live').then((response) => response.status, () => 0);
  if (live === 200) return false;
  await new Promise<void>((done) => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return done();
    const timer = setTimeout(done, 2_000);
    node.child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
  return node.child.exitCode !== null || node.child.signalCode !== null;
}

/**
 * The node is still running and answers its liveness probe. When it died, the case fails with what it printed
 * and a fresh node is started, so every case proves its own input (not the one before it).
 */
async function expectAlive(): Promise<void> {
  if (await exited()) {
    const { exitCode, signalCode } = node.child;
    const output = node.output();
    node = await startNode();
    throw new Error(`Herald exited (code ${exitCode}, signal ${signalCode}):\n${output}`);
  }
  expect((await request(node.baseUrl).get('/health/live')).status).toBe(200);
}

/** Opens a WebSocket and resolves with how the server closed it. */
function closeOf(url: string, timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
  return new Promise((done, fail) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      fail(new Error(`no close within ${timeoutMs} ms for ${url}`));
    }, timeoutMs);
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      done({ code, reason: reason.toString() });
    });
  });
}

beforeAll(async () => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  node = await startNode();
}, 180_000);

afterAll(async () => {
  if (node && node.child.exitCode === null) {
    const exited = new Promise((done) => node.child.once('exit', done));
    node.child.kill('SIGKILL');
    await exited;
  }
});

afterEach(async () => {
  await expectAlive();
});

describe('the upgrade path', () => {
  it('answers /app/%ZZ (a malformed escape) as an unknown app instead of exiting (URIError)', async () => {
    const reply = await rawExchange(node.port, upgradeHead('/app/%ZZ?protocol=7'), (text) => text.includes('4001'));
    expect(statusOf(reply.text)).toBe(101);
    // pusher:error with code 4001 ("App key … does not exist"), then the close.
    expect(reply.text).toContain('4001');
  });

  it.each(['http://a:b/ws/bus', 'http://[/ws/bus', 'http://a:b/app/app-key?protocol=7', '*', 'ws://%zz/ws/bus'])(
    'answers the request target %s with 400 instead of exiting (TypeError: Invalid URL)',
    async (target) => {
      const reply = await rawExchange(node.port, upgradeHead(target), hasHead);
      expect(statusOf(reply.text)).toBe(400);
    },
  );

  it('routes a well-formed absolute-form target by its path (RFC 9112 §3.2.2)', async () => {
    const reply = await rawExchange(node.port, upgradeHead(`http://example.com/ws/bus?token=${userToken()}`), hasHead);
    expect(statusOf(reply.text)).toBe(101);
  });

  it('answers GET http://a:b/metrics on the metrics port with 400 instead of exiting', async () => {
    const reply = await rawExchange(node.metricsPort, 'GET http://a:b/metrics HTTP/1.1\r\nHost: x\r\n\r\n', hasHead);
    expect(statusOf(reply.text)).toBe(400);
    const ok = await rawExchange(node.metricsPort, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', (text) => text.includes('internal_errors_total'));
    expect(statusOf(ok.text)).toBe(200);
    expect(ok.text).toContain('herald_internal_errors_total{where="upgrade"}');
  });

  it('always answers random targets and headers with a well-formed HTTP response (property)', async () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9%:@\[\]!$&'()*+,;=._~\-€ü]{0,24}$/);
    const target = fc.oneof(
      fc.tuple(fc.constantFrom('/ws/bus', '/ws/rpc', '/ws/jsonrpc', '/ws/topics', '/app/', '/', '/nope/'), segment, fc.option(segment)).map(
        ([path, seg, query]) => `${path}${path.endsWith('/') ? seg : ''}${query === null ? '' : `?app=${query}&protocol=7`}`,
      ),
      fc.tuple(fc.constantFrom('http://', 'ws://', 'https://', 'http://[', ''), segment, segment).map(([scheme, host, path]) => `${scheme}${host}/${path}`),
      segment.filter((text) => text.length > 0),
    );
    const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
    const headers = fc.record(
      {
        Origin: headerValue,
        'Sec-WebSocket-Version': fc.constantFrom('13', '8', '', 'x'),
        'Sec-WebSocket-Key': fc.oneof(fc.constant(randomBytes(16).toString('base64')), headerValue),
        Authorization: headerValue.map((value) => `Bearer ${value}`),
        'X-Forwarded-For': headerValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(target, headers, async (path, extra) => {
        const reply = await rawExchange(node.port, Buffer.from(upgradeHead(path.replace(/[\s]/g, ''), extra), 'utf8'), hasHead);
        const status = statusOf(reply.text);
        expect(status).toBeDefined();
        expect(status === 101 || (status !== undefined && status >= 400 && status < 600)).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

describe('close reasons', () => {
  const euros = encodeURIComponent('€'.repeat(40));

  it.each(['/ws/bus', '/ws/rpc', '/ws/jsonrpc', '/ws/topics'])('%s cuts an echoed multi-byte app key at 123 bytes instead of exiting (RangeError)', async (path) => {
    const { code, reason } = await closeOf(`ws://127.0.0.1:${node.port}${path}?app=${euros}&token=${userToken()}`);
    expect(code).toBe(4404);
    expect(reason).toContain('Unknown app key');
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).not.toContain('\ufffd');
  });

  it('Pusher refuses a long multi-byte key with 4001 instead of an unhandled rejection', async () => {
    const { code, reason } = await closeOf(`ws://127.0.0.1:${node.port}/app/${encodeURIComponent('€'.repeat(60))}?protocol=7`);
    expect(code).toBe(4001);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
  });
});

describe('garbage frames on /app/{key}', () => {
  const pusherTarget = '/app/app-key?protocol=7';

  /** Completes a raw upgrade and returns the socket, ready for frames. */
  async function upgraded(): Promise<import('node:net').Socket> {
    const socket = await rawSocket(node.port);
    socket.on('error', () => undefined);
    const head = new Promise<void>((done) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('\r\n\r\n')) {
          socket.off('data', onData);
          done();
        }
      };
      socket.on('data', onData);
    });
    socket.write(upgradeHead(pusherTarget));
    await head;
    socket.resume();
    return socket;
  }

  it('survives the sequence that crashed ws 8.23 in its deferred-event mode (TypeError at Receiver.getData)', async () => {
    // See /work/notes/h1-ws-bug.md: one 64 KiB read of unsolicited pongs (deferred one per turn, so the socket is
    // paused meanwhile), then a valid text frame, a text frame with invalid UTF-8 and a few bytes as three separate reads.
    const pongs = Buffer.concat([...Array.from({ length: 10_921 }, () => maskedFrame(10, Buffer.alloc(0))), maskedFrame(10, Buffer.alloc(4))]);
    expect(pongs.length).toBe(65_536);
    for (let attempt = 0; attempt < 3; attempt++) {
      const socket = await upgraded();
      const gone = new Promise<void>((done) => socket.once('close', () => done()));
      socket.write(pongs);
      // Separate TCP segments, so the server reads them as separate chunks (the spacing is what makes them
      // separate, not an assertion about time).
      await sleep(5);
      socket.write(maskedFrame(1, Buffer.from('{"event":"pusher:ping","data":{}}')));
      await sleep(5);
      socket.write(maskedFrame(1, Buffer.from([0xff, 0xfe, 0xfd])));
      await sleep(5);
      socket.write(Buffer.alloc(64));
      // The server closes with 1007 (invalid UTF-8); bounded.
      await Promise.race([gone, sleep(10_000)]);
      socket.destroy();
      await expectAlive();
    }
  }, 60_000);

  it('survives 2,000 mixed garbage frames from reconnecting clients', async () => {
    let seed = 20_261_201;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const deep = Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    const garbage = (): Buffer => {
      switch (Math.floor(random() * 10)) {
        case 0:
          return randomBytes(1 + Math.floor(random() * 200));
        case 1:
          return maskedFrame(1, Buffer.from(JSON.stringify({ event: random() > 0.5 ? 7 : 'pusher:subscribe', data: random() > 0.5 ? [1] : { channel: 5 } })));
        case 2:
          return maskedFrame(1, deep);
        case 3:
          return maskedFrame(1, Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe]));
        case 4:
          return maskedFrame(1, Buffer.alloc(1024 * 1024, 0x61));
        case 5:
          return maskedFrame(2, randomBytes(50));
        case 6:
          return maskedFrame(1, Buffer.from('{"event":"client-x","data":'), false);
        case 7:
          return maskedFrame(8, Buffer.from([0x03, 0xe7, 0xff]));
        case 8:
          return maskedFrame(10, randomBytes(8));
        default:
          return maskedFrame(1, Buffer.from(`{"event":"pusher:subscribe","data":{"channel":"c-${Math.floor(random() * 10)}"}}`));
      }
    };
    const total = 2_000;
    let sent = 0;
    const client = async (): Promise<void> => {
      while (sent < total) {
        const socket = await upgraded();
        const gone = new Promise<void>((done) => socket.once('close', () => done()));
        const burst = 1 + Math.floor(random() * 40);
        for (let i = 0; i < burst && sent < total; i++, sent++) socket.write(garbage());
        const ending = random();
        if (ending < 0.4) socket.end();
        else if (ending < 0.7) socket.destroy();
        await Promise.race([gone, sleep(200)]);
        socket.destroy();
      }
    };
    await Promise.all(Array.from({ length: 8 }, () => client()));
    expect(sent).toBe(total);
  }, 120_000);
});
