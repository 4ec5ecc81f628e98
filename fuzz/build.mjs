// Compiles src/ (specs left out) with SWC into .cache/fuzz-build/, the ESM the fuzz targets import:
// the same transform jest uses, so the fuzzers run the parsers exactly as the tests and the server do.
import { transformFile } from '@swc/core';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'fuzz-build');

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

let count = 0;
for await (const file of sources(join(root, 'src'))) {
  const { code } = await transformFile(file, {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, code);
  count++;
}
await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
console.log(`fuzz build: ${count} files → ${relative(root, out)}`);
