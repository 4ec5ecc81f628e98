import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';

/** Security scheme name used by `@ApiBearerAuth(API_KEY_AUTH)` on REST controllers. */
export const API_KEY_AUTH = 'api-key';

function packageVersion(): string {
  try {
    // src/docs and dist/docs are both two levels below the package root.
    const raw: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof raw === 'object' && raw !== null && 'version' in raw && typeof raw.version === 'string' ? raw.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The OpenAPI 3 document of the REST API, built from the controllers' decorators. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Herald REST API')
    .setDescription(
      'Backend publishing, presence queries and revocation for Herald, the multi-tenant real-time broadcast bus. ' +
        'Authenticate with an app API key: `Authorization: Bearer <apiKey>`; the key selects the app (tenant). ' +
        'Errors are `{ "error": code, "message": text }`. The WebSocket protocols are described by the AsyncAPI document.',
    )
    .setVersion(packageVersion())
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key of the app (`apiKeys` in the app config)' }, API_KEY_AUTH)
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves Swagger UI at `/docs` and the JSON document at `/docs-json` (`HERALD_DOCS=true`). */
export function setupDocs(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
