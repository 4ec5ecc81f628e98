import { JwtService } from '@nestjs/jwt';
import { loadSettings } from '../config/config.loader.js';
import { TokenInvalidError } from '../errors/app.errors.js';
import { signJwt, userToken } from '../../test/support/tokens.js';
import { JwtVerifier } from './jwt-verifier.service.js';

describe('JwtVerifier', () => {
  const settings = loadSettings({});
  const app = settings.apps[0];
  const verifier = new JwtVerifier(new JwtService({}), settings);
  const reason = (token: string | undefined) => {
    try {
      verifier.verify(token, app);
    } catch (error) {
      expect(error).toBeInstanceOf(TokenInvalidError);
      return (error as Error).message;
    }
    throw new Error('expected a rejection');
  };

  it('turns a valid token into an identity with its optional claims', () => {
    const token = userToken({ sub: 'u1', sid: 'sess', jti: 'tok', scope: ['subscribe'], authorizedChannels: ['news', 'team:*'] });
    const verified = verifier.verify(token, app);
    expect(verified.identity).toEqual({
      tenant: 'app-id',
      userId: 'u1',
      sessionId: 'sess',
      tokenId: 'tok',
      scopes: ['subscribe'],
      authorizedChannels: ['news', 'team:*'],
      jwt: { issuedAt: verified.issuedAt, expiresAt: verified.expiresAt },
    });
    expect(verified.expiresAt - verified.issuedAt).toBe(3600);
  });

  it('accepts an audience array that contains the app audience', () => {
    expect(verifier.verify(userToken({ aud: ['other', 'broadcaster'] }), app).identity.userId).toBe('alice');
  });

  it('says what is wrong with a bad token', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(reason(undefined)).toBe('token missing');
    expect(reason('abc')).toMatch(/malformed/);
    expect(reason(userToken({ expiresIn: -100 }))).toBe('token expired');
    expect(reason(userToken({ secret: 'nope' }))).toBe('invalid token signature');
    expect(reason(userToken({ aud: 'x' }))).toMatch(/audience/);
    expect(reason(userToken({ sub: '' }))).toMatch(/sub/);
    expect(reason(signJwt({ sub: 'a', aud: 'broadcaster' }))).toMatch(/exp/);
    expect(reason(signJwt({ sub: 'a', aud: 'broadcaster', exp: now + 60 }, 'app-secret', { alg: 'HS512', typ: 'JWT' }))).toMatch(/signature|algorithm/);
    expect(reason(userToken({ scope: ['admin'] }))).toMatch(/scope/);
    expect(reason(userToken({ extra: { authorizedChannels: 'news' } }))).toMatch(/authorizedChannels/);
  });

  it('requires iat, no further in the future than the clock skew, and caps exp - iat', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(reason(signJwt({ sub: 'a', aud: 'broadcaster', exp: now + 60 }))).toBe('token has no iat claim');
    expect(reason(userToken({ iat: now + 365 * 86_400, expiresIn: 365 * 86_400 + 60 }))).toBe('token issued in the future (iat)');
    expect(reason(userToken({ iat: now + 31 }))).toBe('token issued in the future (iat)');
    expect(verifier.verify(userToken({ iat: now + 29 }), app).issuedAt).toBe(now + 29);
    expect(reason(userToken({ expiresIn: 86_401 }))).toBe('token lifetime (exp - iat) exceeds 86400 s');
    expect(verifier.verify(userToken({ expiresIn: 86_400 }), app).expiresAt).toBe(now + 86_400);
  });

  it('rejects alg "none"', () => {
    const now = Math.floor(Date.now() / 1000);
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'a', aud: 'broadcaster', exp: now + 60 })}.`;
    expect(reason(unsigned)).toBeTruthy();
  });
});
