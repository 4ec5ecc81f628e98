// Publishes M messages over HTTP keep-alive with `concurrency` requests in flight. Each payload carries
// `bts`, the monotonic µs just before its request is written, for publish-to-delivery latency.
import http from 'node:http';
import { publishRequest } from './protocols.mjs';
import { nowMicros } from './proc.mjs';

const PAD = 'x'.repeat(64);

/**
 * @param {{host:string, port:number}} target  where to publish
 * @param {'herald'|'baseline'} kind
 * @param {{messages:number, concurrency:number, ratePerSec?:number, timeoutMs:number, seqBase?:number}} opts
 * ratePerSec: open-loop pacing (message k is not sent before start + k/rate), still bounded by concurrency.
 */
export async function publishAll(target, kind, protocol, opts) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  let next = 0;
  let failure;
  const start = performance.now();
  const lane = async () => {
    while (next < opts.messages && !failure) {
      const k = next++;
      if (opts.ratePerSec) {
        const due = start + (k * 1000) / opts.ratePerSec;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const data = { seq: (opts.seqBase ?? 0) + k, bts: nowMicros(), pad: PAD };
      const req = publishRequest(kind, protocol, data);
      try {
        await post(agent, target, req, opts.timeoutMs);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  agent.destroy();
  if (failure) throw failure;
  return { publishMs: performance.now() - start };
}

function post(agent, target, { path, body, headers }, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.host,
        port: target.port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          if (res.statusCode >= 200 && res.statusCode < 300) resolve();
          else reject(new Error(`publish ${path.split('?')[0]} refused: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`publish ${path.split('?')[0]} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
