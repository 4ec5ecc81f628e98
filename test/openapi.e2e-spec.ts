import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildOpenApiDocument } from '../src/docs/openapi.js';
import { startApp, type RunningApp } from './support/start-app.js';

/**
 * The OpenAPI 3.0 Schema Object meta-schema (draft-07), as shipped by @asyncapi/specs; every schema in
 * the document (bodies, responses, parameters, components) is validated against it.
 */
const schemaObjectMetaSchema: unknown = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('@asyncapi/specs/definitions/2.6.0/openapiSchema_3_0.json'), 'utf8'),
);

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The document-level structure of OpenAPI 3.0.x (what the official schema requires of the top levels). */
const documentSchema = {
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.0\\.\\d+(-.+)?$' },
    info: { type: 'object', required: ['title', 'version'], properties: { title: { type: 'string' }, version: { type: 'string' } } },
    servers: { type: 'array', items: { type: 'object', required: ['url'] } },
    tags: { type: 'array', items: { type: 'object', required: ['name'] } },
    components: {
      type: 'object',
      properties: {
        securitySchemes: {
          type: 'object',
          additionalProperties: { type: 'object', required: ['type'], properties: { type: { enum: ['apiKey', 'http', 'oauth2', 'openIdConnect'] } } },
        },
      },
    },
    paths: {
      type: 'object',
      propertyNames: { pattern: '^/' },
      additionalProperties: {
        type: 'object',
        propertyNames: { enum: [...METHODS, 'summary', 'description', 'servers', 'parameters', '$ref'] },
        additionalProperties: {
          type: 'object',
          required: ['responses'],
          properties: {
            operationId: { type: 'string' },
            tags: { type: 'array', items: { type: 'string' } },
            parameters: {
              type: 'array',
              items: { type: 'object', required: ['name', 'in'], properties: { in: { enum: ['query', 'header', 'path', 'cookie'] } } },
            },
            requestBody: { type: 'object', required: ['content'] },
            responses: {
              type: 'object',
              minProperties: 1,
              propertyNames: { pattern: '^([1-5](\\d\\d|XX)|default)$' },
              additionalProperties: { type: 'object', required: ['description'] },
            },
            security: { type: 'array' },
          },
        },
      },
    },
  },
};

type Json = Record<string, unknown>;

/** Every Schema Object in the document (the values under `schema` keys and `components.schemas`). */
function schemasIn(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) schemasIn(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'schema') out.push(child);
      else if (key === 'schemas' && typeof child === 'object' && child !== null) out.push(...Object.values(child));
      else schemasIn(child, out);
    }
  }
  return out;
}

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') out.push(child);
      else refsIn(child, out);
    }
  }
  return out;
}

function resolvePointer(document: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (typeof node === 'object' && node !== null ? (node as Json)[part] : undefined), document);
}

describe('OpenAPI document', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  it('is served at /docs and /docs-json when HERALD_DOCS=true, and is valid OpenAPI 3.0', async () => {
    server = await startApp({ HERALD_DOCS: 'true' });
    const ui = await fetch(`${server.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    const response = await fetch(`${server.baseUrl}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Json;

    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validDocument = ajv.compile(documentSchema);
    expect(validDocument(document) ? [] : validDocument.errors).toEqual([]);
    const validSchema = ajv.compile(schemaObjectMetaSchema as object);
    const schemas = schemasIn(document);
    expect(schemas.length).toBeGreaterThan(5);
    for (const schema of schemas) expect([schema, validSchema(schema) ? [] : validSchema.errors]).toEqual([schema, []]);
    for (const ref of refsIn(document)) expect([ref, resolvePointer(document, ref) !== undefined]).toEqual([ref, true]);
    // Operation ids are unique, as the specification requires.
    const ids = Object.values(document.paths as Json).flatMap((item) => Object.values(item as Json).map((op) => (op as Json).operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists the REST endpoints with their auth, bodies and error responses, and hides /metrics', async () => {
    server = await startApp();
    const document = buildOpenApiDocument(server.app) as unknown as { paths: Record<string, Record<string, Json>>; components: Json };
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/messages',
        'GET /api/connections',
        'GET /api/users/{userId}',
        'POST /api/sessions/{sid}/revoke',
        'POST /api/users/{userId}/revoke',
        'POST /api/tokens/{jti}/revoke',
        'GET /health/live',
        'GET /health/ready',
      ]),
    );
    expect(operations.some((op) => op.includes('/metrics'))).toBe(false);
    expect(document.components.securitySchemes).toEqual({ 'api-key': expect.objectContaining({ type: 'http', scheme: 'bearer' }) });

    const publish = document.paths['/api/messages'].post as {
      security: unknown;
      requestBody: { content: { 'application/json': { schema: Json } } };
      responses: Record<string, Json>;
    };
    expect(publish.security).toEqual([{ 'api-key': [] }]);
    const body = publish.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', required: ['cmd', 'data'], additionalProperties: false });
    expect(Object.keys(body.properties as Json)).toEqual(['cmd', 'data', 'to']);
    expect(Object.keys(publish.responses).sort()).toEqual(['202', '400', '401', '413', '429', '503']);
    expect(publish.responses['429'].headers).toHaveProperty('Retry-After');
  });

  it('is what docs/openapi.json holds (re-export with `npm run build && node scripts/export-openapi.mjs` after changing the API)', async () => {
    server = await startApp();
    // Operations and their words (the build under jest emits richer terminus schemas than tsc's, so not byte for byte).
    const operations = (document: { paths: Record<string, Record<string, Json>> }) =>
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.entries(item).map(([method, op]) => ({ operation: `${method.toUpperCase()} ${path}`, id: op.operationId, summary: op.summary, parameters: op.parameters })),
      );
    const live = JSON.parse(JSON.stringify(buildOpenApiDocument(server.app))) as { paths: Record<string, Record<string, Json>> };
    const checkedIn = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Json>> };
    expect(operations(checkedIn)).toEqual(operations(live));
  });

  it('is not served unless enabled', async () => {
    server = await startApp();
    expect((await fetch(`${server.baseUrl}/docs`)).status).toBe(404);
    expect((await fetch(`${server.baseUrl}/docs-json`)).status).toBe(404);
  });
});
