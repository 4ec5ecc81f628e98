// Runs the Jazzer.js fuzz targets, one after another, each for a bounded time.
//   node fuzz/run.mjs [--seconds N] [target ...]      (npm run fuzz:ci = 15 s each, npm run fuzz = 300 s each)
// Builds src/ for the targets (fuzz/build.mjs), makes Jazzer's native addon load on this machine
// (scripts/jazzer-glibc-shim.sh), keeps a growing corpus in .cache/fuzz-corpus/<target> (seeded from
// fuzz/seeds/<target>) and writes crashing inputs to .cache/fuzz-crashes/. Exits non-zero when a target
// finds a crash: commit that input as a regression case in the parser's spec.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let seconds = 15;
const chosen = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else chosen.push(args[i]);
}
if (!Number.isInteger(seconds) || seconds <= 0) throw new Error('--seconds wants a positive integer');
const all = readdirSync(join(root, 'fuzz')).filter((name) => name.endsWith('.fuzz.mjs')).map((name) => name.replace('.fuzz.mjs', ''));
const targets = chosen.length > 0 ? chosen : all;
for (const target of targets) if (!all.includes(target)) throw new Error(`unknown fuzz target ${target}; have ${all.join(', ')}`);

function run(command, commandArgs, env = process.env) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (run(process.execPath, [join(root, 'fuzz', 'build.mjs')]) !== 0) process.exit(1);
if (run('bash', [join(root, 'scripts', 'jazzer-glibc-shim.sh')]) !== 0) process.exit(1);

const jazzer = join(root, 'node_modules', '.bin', 'jazzer');
const preload = `--require ${join(root, 'scripts', 'jazzer-addon-redirect.cjs')}`;
const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ') };
const crashes = join(root, '.cache', 'fuzz-crashes');
mkdirSync(crashes, { recursive: true });
const failed = [];
for (const target of targets) {
  const corpus = join(root, '.cache', 'fuzz-corpus', target);
  mkdirSync(corpus, { recursive: true });
  const seeds = join(root, 'fuzz', 'seeds', target);
  if (existsSync(seeds)) cpSync(seeds, corpus, { recursive: true });
  console.log(`\n== fuzz ${target}: ${seconds} s`);
  const status = run(
    jazzer,
    [
      join('fuzz', `${target}.fuzz.mjs`),
      corpus,
      '--sync',
      '--includes', '.cache/fuzz-build/',
      '--includes', 'fuzz/',
      '--',
      `-max_total_time=${seconds}`,
      '-timeout=10',
      '-rss_limit_mb=2048',
      '-max_len=70000',
      `-artifact_prefix=${join(crashes, `${target}-`)}`,
      '-print_final_stats=1',
    ],
    env,
  );
  if (status !== 0) failed.push(target);
}
if (failed.length > 0) {
  console.error(`\nfuzz: crashes in ${failed.join(', ')} (inputs in .cache/fuzz-crashes/)`);
  process.exit(1);
}
console.log(`\nfuzz: ${targets.length} targets ran clean for ${seconds} s each`);
