#!/usr/bin/env node
// Writes the REST API's OpenAPI 3 document to docs/openapi.json (or the path given as the first argument).
// Run after a build: `npm run build && node scripts/export-openapi.mjs`. Boots the app without listening.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'docs/openapi.json');

const { createHeraldApp } = await import(`${root}/dist/bootstrap.js`).catch((error) => {
  console.error(`Cannot load dist/ (${error.message}); run "npm run build" first.`);
  process.exit(1);
});
const { loadSettings } = await import(`${root}/dist/config/config.loader.js`);
const { buildOpenApiDocument } = await import(`${root}/dist/docs/openapi.js`);

// The dev app is enough: the document depends on the controllers, not on the apps configured.
const app = await createHeraldApp(loadSettings({ LOG_LEVEL: 'error' }));
try {
  await app.init();
  const document = buildOpenApiDocument(app);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`Wrote ${out} (${Object.keys(document.paths).length} paths)`);
} finally {
  await app.close();
}
