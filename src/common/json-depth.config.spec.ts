import { loadSettings } from '../config/config.loader.js';
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_SETTING } from './json.js';

const noFile = (): string => {
  throw new Error('no file');
};

describe('HERALD_MAX_JSON_DEPTH', () => {
  it('defaults to 64 and is read from the environment or the config file', () => {
    expect(DEFAULT_MAX_JSON_DEPTH).toBe(64);
    expect(loadSettings({}, noFile).maxJsonDepth).toBe(64);
    expect(loadSettings({ HERALD_MAX_JSON_DEPTH: '128' }, noFile).maxJsonDepth).toBe(128);
    expect(loadSettings({ HERALD_CONFIG: '/c.json' }, () => '{"maxJsonDepth":16}').maxJsonDepth).toBe(16);
  });

  it('refuses values past the bound that keeps JSON.stringify off the stack limit, and below 8', () => {
    expect(MAX_JSON_DEPTH_SETTING).toBe(1_000);
    expect(() => loadSettings({ HERALD_MAX_JSON_DEPTH: '5000' }, noFile)).toThrow(/maxJsonDepth/);
    expect(() => loadSettings({ HERALD_MAX_JSON_DEPTH: '2' }, noFile)).toThrow(/maxJsonDepth/);
  });

  it('the largest allowed depth still stringifies with room to spare on the stack', () => {
    const deepest = JSON.parse('['.repeat(MAX_JSON_DEPTH_SETTING + 8) + ']'.repeat(MAX_JSON_DEPTH_SETTING + 8)) as unknown;
    // Leave most of the stack in use, as a deep fan-out call chain would, and encode there.
    const encodeAt = (frames: number): string => (frames === 0 ? JSON.stringify(deepest) : encodeAt(frames - 1));
    expect(encodeAt(2_000)).toHaveLength(2 * (MAX_JSON_DEPTH_SETTING + 8));
  });
});
