// Cost of the depth scan beside JSON.parse (node fuzz/build.mjs first): node fuzz/bench-depth-scan.mjs
import { parseJson, exceedsJsonDepth } from '../.cache/fuzz-build/src/common/json.js';
const f = JSON.stringify({ id: 1, method: 'publish', params: { channel: 'news', payload: { items: Array.from({ length: 20 }, (_, i) => ({ i, name: `item-${i}`, tags: ['a', 'b'] })) } } });
const big = JSON.stringify({ id: 1, method: 'publish', params: { payload: Array.from({ length: 900 }, (_, i) => ({ i, name: `item-${i}`, tags: ['a', 'b'] })) } });
for (const [name, text] of [['~1 KB frame', f], ['~' + Math.round(big.length / 1024) + ' KB frame', big]]) {
  const n = name.startsWith('~1 ') ? 200000 : 3000;
  let t = process.hrtime.bigint(); for (let i = 0; i < n; i++) JSON.parse(text); const parse = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint(); for (let i = 0; i < n; i++) exceedsJsonDepth(text, 64); const scan = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint(); for (let i = 0; i < n; i++) parseJson(text, { maxDepth: 64 }); const both = Number(process.hrtime.bigint() - t) / n;
  console.log(`${name} (${text.length} B): JSON.parse ${(parse / 1000).toFixed(2)} µs, depth scan ${(scan / 1000).toFixed(2)} µs, parseJson ${(both / 1000).toFixed(2)} µs`);
}
const deep = '['.repeat(500000) + ']'.repeat(500000);
let t = process.hrtime.bigint(); exceedsJsonDepth(deep, 64); console.log(`1 MB of nesting refused after ${Number(process.hrtime.bigint() - t) / 1000} µs (stops at level 65)`);
