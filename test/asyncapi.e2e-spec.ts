import { Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * docs/asyncapi.yaml: a valid AsyncAPI 3.0 document (the official parser and its ruleset, no error
 * diagnostics) that describes every WebSocket endpoint with its operations, messages and close codes,
 * and whose examples conform to their own payload schemas (the parser does not check those).
 */

const DOCUMENT_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'asyncapi.yaml');
/** DiagnosticSeverity.Error of @stoplight/types (the parser's diagnostics). */
const SEVERITY_ERROR = 0;

const EXPECTED_CHANNELS: Record<string, string> = {
  bus: '/ws/bus',
  pusher: '/app/{key}',
  rpc: '/ws/rpc',
  jsonrpc: '/ws/jsonrpc',
  topics: '/ws/topics',
};

function errors(diagnostics: Diagnostic[]): string[] {
  return diagnostics.filter((d) => d.severity === SEVERITY_ERROR).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
}

describe('AsyncAPI document (docs/asyncapi.yaml)', () => {
  const parser = new Parser();
  const source = readFileSync(DOCUMENT_PATH, 'utf8');
  let document: AsyncAPIDocumentInterface;

  beforeAll(async () => {
    const { document: parsed, diagnostics } = await parser.parse(source);
    if (!parsed) throw new Error(`document did not parse:\n${errors(diagnostics).join('\n')}`);
    document = parsed;
  }, 30_000);

  it('validates as AsyncAPI 3.0 with no error diagnostics', async () => {
    const diagnostics = await parser.validate(source);
    expect(errors(diagnostics)).toEqual([]);
    expect(document.version()).toMatch(/^3\.0\.\d+$/);
  }, 30_000);

  it('rejects a broken copy (the validator is not a no-op)', async () => {
    const broken = source.replace("- $ref: '#/channels/bus/messages/lagged'", "- $ref: '#/channels/rpc/messages/broadcast'");
    expect(broken).not.toBe(source);
    expect(errors(await parser.validate(broken))).toEqual([expect.stringContaining('asyncapi3-operation-messages-from-referred-channel')]);
  }, 30_000);

  it('describes each WebSocket endpoint as a channel with messages, close codes and both directions', () => {
    const channels = Object.fromEntries(document.channels().all().map((channel) => [channel.id(), channel]));
    expect(Object.keys(channels).sort()).toEqual(Object.keys(EXPECTED_CHANNELS).sort());
    for (const [id, address] of Object.entries(EXPECTED_CHANNELS)) {
      const channel = channels[id];
      expect(channel.address()).toBe(address);
      expect(channel.messages().length).toBeGreaterThan(0);
      const closeCodes = (channel.extensions().get('x-close-codes')?.value() ?? []) as { code: number }[];
      expect(closeCodes.map((entry) => entry.code)).toEqual(expect.arrayContaining([1009]));
      const actions = channel.operations().all().map((operation) => operation.action());
      expect(new Set(actions)).toEqual(new Set(['send', 'receive']));
    }
    expect(channels.pusher.parameters().all().map((parameter) => parameter.id())).toEqual(['key']);
  });

  it('documents the protocol contracts: bus errors and close codes, Pusher codes, RPC error codes', () => {
    const closeCodes = (id: string) =>
      ((document.channels().get(id)?.extensions().get('x-close-codes')?.value() ?? []) as { code: number }[]).map((entry) => entry.code);
    expect(closeCodes('bus')).toEqual(expect.arrayContaining([4401, 4404, 4001, 1009, 1012]));
    expect(closeCodes('pusher')).toEqual(expect.arrayContaining([4001, 4007, 4008, 4009, 4100, 4200, 4201]));
    expect(closeCodes('pusher').filter((code) => code >= 4300 && code < 4400)).toEqual([]);
    for (const id of ['rpc', 'jsonrpc', 'topics']) expect(closeCodes(id)).toEqual(expect.arrayContaining([4401, 4001, 1012]));

    const schemas = document.components().schemas();
    expect(schemas.get('RpcErrorCode')?.enum()).toEqual(
      expect.arrayContaining(['InvalidArgument', 'NotFound', 'AlreadyExists', 'FailedPrecondition', 'PermissionDenied', 'Unauthenticated', 'Internal']),
    );
    expect(schemas.get('JsonRpcErrorCode')?.enum()).toEqual(
      expect.arrayContaining([-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004, -32006]),
    );
    const busError = document.components().messages().get('BusError')?.payload()?.json() as { properties: { data: { properties: { code: { enum: string[] } } } } };
    expect(busError.properties.data.properties.code.enum).toContain('invalid_message');
    const busCmds = document.channels().get('bus')?.messages().all().map((message) => message.name());
    expect(busCmds).toEqual(expect.arrayContaining(['ACTION', 'notification', 'FILE_ID_GENERATED', 'LAGGED', 'ack', 'error']));
  });

  it('has examples that conform to their message payload schemas', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const failures: string[] = [];
    let checked = 0;
    for (const message of document.components().messages().all()) {
      const examples = message.examples().all();
      if (examples.length === 0) continue;
      const schema = message.payload()?.json();
      expect(schema).toBeDefined();
      const validate: ValidateFunction = ajv.compile(schema as object);
      for (const example of examples) {
        checked++;
        if (!validate(example.payload())) failures.push(`${message.id()} / ${example.name()}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(30);
  });
});
