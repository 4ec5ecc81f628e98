// Summarizes the .cpuprofile files written by `node --cpu-prof` (the `--profile` option): self time per
// function, hottest first, so a missed target comes with where the server's time goes.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function summarizeProfiles(dir, limit = 25) {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) return undefined;
  const texts = [];
  const tops = [];
  // The newest profile per Herald process of this run (one per node; the single-node run is the last one
  // written before the cluster run, so take as many as were written in the last 10 minutes).
  const recent = files.filter((f) => Date.now() - statSync(f).mtimeMs < 600_000);
  for (const file of recent) {
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map();
    let total = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]);
      const dt = profile.timeDeltas[i] ?? 0;
      total += dt;
      const cf = node.callFrame;
      const where = cf.url ? `${relative(process.cwd(), cf.url.replace('file://', ''))}:${cf.lineNumber + 1}` : '';
      const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + dt);
    }
    const top = [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([fn, us]) => ({ fn, ms: us / 1000, pct: (100 * us) / total }));
    tops.push({ file, totalMs: total / 1000, top });
    texts.push(
      `CPU profile ${file} (${(total / 1e6).toFixed(1)} s sampled), self time:\n` +
        top.map((t) => `  ${t.pct.toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(7)} ms  ${t.fn}`).join('\n'),
    );
  }
  return { text: texts.join('\n\n'), top: tops };
}
