import { ConfigInvalidError } from './config.errors.js';
import { loadSettings } from './config.loader.js';

const noFile = () => {
  throw new Error('no file expected');
};

describe('loadSettings', () => {
  it('falls back to the insecure dev app and documented defaults', () => {
    const settings = loadSettings({}, noFile);
    expect(settings.usingDevDefaults).toBe(true);
    expect(settings.port).toBe(6001);
    expect(settings.host).toBe('0.0.0.0');
    expect(settings.outboxSize).toBe(128);
    expect(settings.pingIntervalMs).toBe(30_000);
    expect(settings.apps).toHaveLength(1);
    expect(settings.apps[0]).toMatchObject({
      id: 'app-id',
      key: 'app-key',
      secret: 'app-secret',
      apiKeys: ['app-api-key'],
      jwtAudience: 'broadcaster',
      enableClientMessages: true,
      maxPresenceMembersPerChannel: 100,
      maxEventPayloadInKb: 10,
    });
  });

  it('reads apps from HERALD_APPS with per-app defaults', () => {
    const settings = loadSettings({ HERALD_APPS: JSON.stringify([{ id: 'a', key: 'k', secret: 's', apiKeys: ['key-123456'] }]) }, noFile);
    expect(settings.usingDevDefaults).toBe(false);
    expect(settings.apps[0]).toMatchObject({ id: 'a', jwtAudience: 'broadcaster', enableClientMessages: false, maxConnections: -1 });
  });

  it('merges the HERALD_CONFIG file under the environment (env wins)', () => {
    const file = JSON.stringify({ port: 7000, host: '127.0.0.1', outboxSize: 64, apps: [{ id: 'f', key: 'fk', secret: 'fs' }] });
    const settings = loadSettings({ HERALD_CONFIG: '/etc/herald.json', PORT: '7100' }, () => file);
    expect(settings.port).toBe(7100);
    expect(settings.host).toBe('127.0.0.1');
    expect(settings.outboxSize).toBe(64);
    expect(settings.apps[0].id).toBe('f');
  });

  it('accepts soketi-style webhooks with snake_case keys', () => {
    const apps = [{ id: 'a', key: 'k', secret: 's', webhooks: [{ url: 'http://hook.test/x', event_types: ['channel_occupied'], filter: { channel_name_starts_with: 'pre' } }] }];
    const settings = loadSettings({ HERALD_APPS: JSON.stringify(apps) }, noFile);
    expect(settings.apps[0].webhooks[0]).toEqual({
      url: 'http://hook.test/x',
      eventTypes: ['channel_occupied'],
      filter: { channelNameStartsWith: 'pre', channelNameEndsWith: undefined },
      headers: {},
    });
  });

  it('names every bad field at once', () => {
    const apps = [
      { id: 'a', key: 'k', apiKeys: ['shared-key-1'] },
      { id: 'a', key: 'k', secret: 's', apiKeys: ['shared-key-1'], maxConnections: 'many', surprise: true },
    ];
    let error: ConfigInvalidError | undefined;
    try {
      loadSettings({ HERALD_APPS: JSON.stringify(apps), PORT: '70000', HERALD_OUTBOX_SIZE: 'lots' }, noFile);
    } catch (caught) {
      error = caught as ConfigInvalidError;
    }
    expect(error).toBeInstanceOf(ConfigInvalidError);
    const text = error!.problems.join('\n');
    expect(text).toMatch(/HERALD_OUTBOX_SIZE: expected an integer/);
    expect(text).toMatch(/port:/);
    expect(text).toMatch(/apps\.0\.secret/);
    expect(text).toMatch(/apps\.1\.maxConnections/);
    expect(text).toMatch(/apps\.1.*surprise/);
  });

  it('reports duplicate ids, keys and API keys across apps', () => {
    const apps = [
      { id: 'a', key: 'k', secret: 's', apiKeys: ['shared-key-1'] },
      { id: 'a', key: 'k', secret: 's2', apiKeys: ['shared-key-1'] },
    ];
    expect(() => loadSettings({ HERALD_APPS: JSON.stringify(apps) }, noFile)).toThrow(/apps\.1\.id: duplicate[\s\S]*apps\.1\.key: duplicate[\s\S]*apps\.1\.apiKeys\.0: duplicate/);
  });

  it('reports bad JSON in HERALD_APPS and in the config file', () => {
    expect(() => loadSettings({ HERALD_APPS: '[{' }, noFile)).toThrow(/HERALD_APPS: not valid JSON/);
    expect(() => loadSettings({ HERALD_CONFIG: '/x.json' }, () => '{oops')).toThrow(/HERALD_CONFIG \(\/x\.json\)/);
    expect(() => loadSettings({ HERALD_APPS: '[]' }, noFile)).toThrow(/at least one app/);
  });
});
