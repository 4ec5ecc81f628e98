import { logFormat, type ModuleResolver } from './pino-options.js';

const installed: ModuleResolver = (name) => `/node_modules/${name}/index.js`;
const missing: ModuleResolver = (name) => {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
};

describe('logFormat', () => {
  it('is pretty when asked and pino-pretty is installed', () => {
    expect(logFormat({ logPretty: true, logLevel: 'info' }, { isTty: false, resolve: installed })).toEqual({ pretty: true });
  });

  it('falls back to JSON with one warning when asked but pino-pretty is missing (production image)', () => {
    const format = logFormat({ logPretty: true, logLevel: 'info' }, { isTty: false, resolve: missing });
    expect(format.pretty).toBe(false);
    expect(format.warning).toContain('pino-pretty');
  });

  it('is pretty at debug on a terminal only when pino-pretty is installed, silently JSON otherwise', () => {
    expect(logFormat({ logLevel: 'debug' }, { isTty: true, resolve: installed })).toEqual({ pretty: true });
    expect(logFormat({ logLevel: 'debug' }, { isTty: true, resolve: missing })).toEqual({ pretty: false });
    expect(logFormat({ logLevel: 'debug' }, { isTty: false, resolve: installed })).toEqual({ pretty: false });
  });

  it('stays JSON when pretty is turned off, without looking for pino-pretty', () => {
    const untouched: ModuleResolver = () => {
      throw new Error('must not be called');
    };
    expect(logFormat({ logPretty: false, logLevel: 'trace' }, { isTty: true, resolve: untouched })).toEqual({ pretty: false });
    expect(logFormat({ logLevel: 'info' }, { isTty: true, resolve: untouched })).toEqual({ pretty: false });
  });
});
