// Tables, target checks and the JSON results file.

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);

/**
 * Targets (issue 2; issue 5 for nodes): each is {scenario, metric, op, factor, against, label}.
 * `against` is the column the ratio is taken over.
 */
export function targetsFor({ inFlight, nodes, rate }) {
  const targets = [];
  if (inFlight.includes(1)) {
    targets.push({ scenario: '1', metric: 'deliveriesPerSec', op: '>=', factor: 0.9, against: 'baseline', label: '1 in flight: deliveries/s ≥ 0.9× baseline' });
    targets.push({ scenario: '1', metric: 'p99Ms', op: '<=', factor: 1.2, against: 'baseline', label: '1 in flight: p99 ≤ 1.2× baseline' });
  }
  if (inFlight.includes(8)) {
    targets.push({ scenario: '8', metric: 'deliveriesPerSec', op: '>=', factor: 3, against: 'baseline', label: '8 in flight: deliveries/s ≥ 3× baseline' });
  }
  targets.push({ scenario: 'idle', metric: 'memPerConnBytes', op: '<=', factor: 1.5, against: 'baseline', label: 'memory per idle connection ≤ 1.5× baseline' });
  return targets.map((t) => ({ ...t, subject: 'herald' })).concat(
    nodes > 1
      ? inFlight.map((c) => ({
          scenario: String(c),
          metric: 'deliveriesPerSec',
          op: '>=',
          factor: 0.7,
          against: 'herald',
          subject: 'herald-cluster',
          label: `${nodes} nodes, ${c} in flight: deliveries/s ≥ 0.7× single node`,
        }))
        .concat(rate ? [{ scenario: `rate${rate}`, metric: 'p99Ms', op: '<=', absolute: 50, subject: 'herald-cluster', label: `${nodes} nodes at ${rate} msg/s: p99 < 50 ms` }] : [])
      : [],
  );
}

function valueOf(results, subject, scenario, metric) {
  const target = results[subject];
  if (!target) return NaN;
  if (scenario === 'idle') return target[metric] ?? NaN;
  return target.scenarios?.[scenario]?.[metric] ?? NaN;
}

export function evaluate(results, targets) {
  return targets.map((t) => {
    const value = valueOf(results, t.subject, t.scenario, t.metric);
    let measured;
    let pass;
    if (t.absolute !== undefined) {
      measured = value;
      pass = value <= t.absolute;
    } else {
      measured = ratio(value, valueOf(results, t.against, t.scenario, t.metric));
      pass = t.op === '>=' ? measured >= t.factor : measured <= t.factor;
    }
    const status = Number.isFinite(measured) ? (pass ? 'PASS' : 'MISS') : 'N/A';
    return { label: t.label, measured, status };
  });
}

const ROWS = [
  ['deliveries/s', 'deliveriesPerSec', 0],
  ['server CPU µs/delivery', 'cpuMicrosPerDelivery', 2],
  ['p50 publish→delivery ms', 'p50Ms', 2],
  ['p99 publish→delivery ms', 'p99Ms', 2],
  ['publishes/s', 'publishesPerSec', 0],
  ['client CPU (% of 1 core)', 'clientCpuPct', 0],
  ['delivered / expected', 'deliveredPct', 2],
];

/** One table per scenario, columns = targets, then ratios over the first column. */
export function printTables(results, columns, scenarios, header) {
  const lines = [];
  const w0 = 28;
  const w = Math.max(14, ...columns.map((c) => c.length + 2));
  const pad = (s, n) => String(s).padStart(n);
  for (const sc of scenarios) {
    const any = columns.some((c) => results[c]?.scenarios?.[sc.key]);
    if (!any) continue;
    lines.push('', `${header} — ${sc.title}`);
    const ratioCols = columns.slice(1).map((c) => `${c}/${columns[0]}`);
    lines.push('metric'.padEnd(w0) + columns.map((c) => pad(c, w)).join('') + ratioCols.map((c) => pad(c, w + 8)).join(''));
    for (const [label, key, digits] of ROWS) {
      const vals = columns.map((c) => results[c]?.scenarios?.[sc.key]?.[key]);
      lines.push(
        label.padEnd(w0) +
          vals.map((v) => pad(fmt(v, digits), w)).join('') +
          vals.slice(1).map((v) => pad(`${fmt(ratio(v, vals[0]), 2)}×`, w + 8)).join(''),
      );
    }
  }
  lines.push('', `${header} — idle connections`);
  lines.push('metric'.padEnd(w0) + columns.map((c) => pad(c, w)).join(''));
  const mem = columns.map((c) => results[c]?.memPerConnBytes / 1024);
  lines.push(
    'RSS per idle conn (KiB)'.padEnd(w0) +
      mem.map((v) => pad(fmt(v, 2), w)).join('') +
      mem.slice(1).map((v) => pad(`${fmt(ratio(v, mem[0]), 2)}×`, w + 8)).join(''),
  );
  const rss = columns.map((c) => results[c]?.rssIdleBytes / 1048576);
  lines.push('RSS with N idle (MiB)'.padEnd(w0) + rss.map((v) => pad(fmt(v, 1), w)).join(''));
  return lines.join('\n');
}

export function printChecks(checks) {
  const lines = ['', 'Targets (issue 2 / issue 5):'];
  for (const c of checks) {
    const shown = c.label.includes('< 50 ms') ? `${fmt(c.measured, 2)} ms` : `${fmt(c.measured, 2)}×`;
    lines.push(`  ${c.status.padEnd(5)} ${c.label.padEnd(58)} measured ${shown}`);
  }
  return lines.join('\n');
}
