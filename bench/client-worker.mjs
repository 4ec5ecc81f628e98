// A subscriber process (forked by run.mjs over IPC). It opens its share of the N connections, counts
// deliveries with a Buffer#indexOf (no parse on the hot path), and on every `sampleEvery`-th client reads
// the publish stamp to measure publish-to-delivery latency on the shared monotonic clock.
//
// IPC in:  {type:'connect', protocol, bases, from, to, app, sampleEvery, concurrency, timeoutMs}
//          {type:'reset', expect}   {type:'collect'}   {type:'close'}
// IPC out: {type:'connected', ready, failed, errors}   {type:'progress', received}
//          {type:'done', at}   {type:'collected', ...}   {type:'closed-early', code, reason}
import { connectRaw } from './lib/raw-ws.mjs';
import { clientProtocols, readStamp } from './lib/protocols.mjs';
import { nowMicros } from './lib/proc.mjs';

const sockets = [];
let received = 0;
let expect = Infinity;
let doneAt = 0;
let samples = [];
let badFrames = 0;
let firstBad = '';
let cpuAtReset = process.cpuUsage();
const closes = new Map(); // "code reason" -> count, for sockets the server closed during the run
let closing = false;

process.on('disconnect', () => process.exit(0)); // the bench died: never linger
process.on('message', (msg) => {
  switch (msg.type) {
    case 'connect':
      connectAll(msg).then(
        (result) => process.send({ type: 'connected', ...result }),
        (error) => {
          // The parent's request rejects when this worker exits, with this on stderr.
          console.error(error);
          process.exit(1);
        },
      );
      break;
    case 'reset':
      received = 0;
      doneAt = 0;
      samples = [];
      expect = msg.expect;
      cpuAtReset = process.cpuUsage();
      process.send({ type: 'reset-ok' });
      break;
    case 'collect': {
      const cpu = process.cpuUsage(cpuAtReset);
      process.send({
        type: 'collected',
        received,
        doneAt,
        samples: Float64Array.from(samples),
        cpuMicros: cpu.user + cpu.system,
        badFrames,
        firstBad,
        closes: [...closes.entries()],
        open: sockets.filter((s) => s.open).length,
      });
      break;
    }
    case 'close':
      closing = true;
      for (const ws of sockets) ws.terminate();
      setTimeout(() => process.exit(0), 50);
      break;
    default:
      break;
  }
});

setInterval(() => process.send({ type: 'progress', received }), 200).unref();

function onDelivery() {
  received += 1;
  if (received === expect) {
    doneAt = nowMicros();
    process.send({ type: 'done', at: doneAt });
  }
}

/** Opens clients [from, to) with at most `concurrency` handshakes in flight. */
async function connectAll({ protocol, bases, from, to, app, sampleEvery, concurrency, timeoutMs }) {
  const proto = clientProtocols[protocol];
  const marker = Buffer.from(proto.marker);
  const errors = new Map();
  const note = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
  let ready = 0;
  let failed = 0;
  let next = from;
  const one = async (i) => {
    let ws;
    let timer;
    let handle;
    try {
      const url = `${bases[i % bases.length]}${proto.path(i, app)}`;
      const opened = connectRaw(url, timeoutMs);
      timer = new Promise((_, reject) => {
        handle = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
      });
      ws = await Promise.race([opened, timer]);
      sockets.push(ws);
      await Promise.race([subscribe(ws, proto, marker, i % sampleEvery === 0), timer]);
      ready += 1;
    } catch (error) {
      failed += 1;
      note(errors, error.message);
      ws?.terminate();
    }
    clearTimeout(handle);
    timer?.catch(() => {});
  };
  const lanes = Array.from({ length: Math.min(concurrency, to - from) }, async () => {
    while (next < to) await one(next++);
  });
  await Promise.all(lanes);
  return { ready, failed, errors: [...errors.entries()] };

  /** Resolves once the protocol's handshake is done; from then on, frames with the marker are deliveries. */
  function subscribe(ws, proto, marker, sampled) {
    return new Promise((resolve, reject) => {
      let isReady = false;
      let checked = false;
      ws.onClose = (code, reason) => {
        if (!isReady) reject(new Error(`closed by server before ready: ${code} ${reason}`));
        else if (!closing) note(closes, `${code} ${reason}`);
      };
      ws.onMessage = (opcode, buf, start, end) => {
        if (isReady && opcode === 1) {
          const at = buf.indexOf(marker, start);
          if (at !== -1 && at + marker.length <= end) {
            if (sampled || !checked) {
              const text = buf.toString('utf8', start, end);
              if (!checked) {
                checked = true;
                if (!proto.check(safeParse(text) ?? {})) {
                  badFrames += 1;
                  firstBad ||= text.slice(0, 300);
                }
              }
              if (sampled) {
                const stamp = readStamp(text);
                if (stamp > 0) samples.push(nowMicros() - stamp);
              }
            }
            onDelivery();
            return;
          }
        }
        const result = proto.onControl(ws, buf.toString('utf8', start, end));
        if (result === 'ready' && !isReady) {
          isReady = true;
          resolve();
        } else if (result instanceof Error) {
          if (!isReady) reject(result);
          else note(errors, result.message);
        }
      };
      ws.start();
      if (proto.onOpen(ws)) {
        isReady = true;
        resolve();
      }
    });
  }
}

function safeParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
