// The naive raw-`ws` baseline (issue 2, "Performance"): POST /publish takes the data JSON, builds the
// frame string ONCE, and calls client.send(str) on every socket (one write per socket per message).
// It imitates the handshake of the protocol under test (BENCH_PROTOCOL = bus | pusher | rpc) so the
// bench's clients work unchanged; frames look like Herald's deliveries.
// Env: PORT (required), BENCH_PROTOCOL (default bus).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const protocol = process.env.BENCH_PROTOCOL ?? 'bus';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomId = () => Array.from(randomBytes(24), (b) => ALPHABET[b % 62]).join('');
let offset = 0;

/** The delivery frame for one message, as Herald's codec of `protocol` would shape it. */
function frameOf(dataJson) {
  switch (protocol) {
    case 'bus':
      return `{"id":"${randomId()}","cmd":"bench","data":${dataJson}}`;
    case 'pusher':
      return JSON.stringify({ event: 'bench', channel: 'bench', data: dataJson });
    case 'rpc':
      offset += 1;
      return JSON.stringify({
        method: 'broadcast',
        params: {
          id: randomId(),
          seq: offset,
          offset,
          epoch: 'baseline',
          createTime: new Date().toISOString(),
          channel: 'bench',
          event: 'bench',
          payload: JSON.parse(dataJson),
        },
      });
    default:
      throw new Error(`unknown BENCH_PROTOCOL ${protocol}`);
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200).end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const frame = frameOf(Buffer.concat(chunks).toString());
    for (const client of wss.clients) client.send(frame);
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
let socketSeq = 0;
wss.on('connection', (ws) => {
  socketSeq += 1;
  if (protocol === 'pusher') {
    ws.send(
      JSON.stringify({
        event: 'pusher:connection_established',
        data: JSON.stringify({ socket_id: `1.${socketSeq}`, activity_timeout: 120 }),
      }),
    );
  }
  if (protocol === 'bus') return;
  ws.on('message', (raw) => {
    let frame;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (protocol === 'pusher' && frame.event === 'pusher:subscribe') {
      ws.send(`{"event":"pusher_internal:subscription_succeeded","channel":"bench","data":"{}"}`);
    } else if (protocol === 'pusher' && frame.event === 'pusher:ping') {
      ws.send('{"event":"pusher:pong","data":{}}');
    } else if (protocol === 'rpc' && frame.method === 'subscribe') {
      ws.send(JSON.stringify({ requestId: frame.id, result: { subscriptionId: String(socketSeq), offset, epoch: 'baseline' } }));
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`baseline (${protocol}) listening on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
