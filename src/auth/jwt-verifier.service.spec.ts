import { JwtService } from '@nestjs/jwt';
import { loadSettings } from '../config/config.loader.js';
import { TokenInvalidError } from '../errors/app.errors.js';
import { signJwt, userToken } from '../../test/support/tokens.js';
import { JwtVerifier } from './jwt-verifier.service.js';

describe('JwtVerifier', () => {
  const app = loadSettings({}).apps[0];
  const verifier = new JwtVerifier(new JwtService({}));
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
    });
    expect(verified.issuedAt).toEqual(expect.any(Number));
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

  it('rejects alg "none"', () => {
    const now = Math.floor(Date.now() / 1000);
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'a', aud: 'broadcaster', exp: now + 60 })}.`;
    expect(reason(unsigned)).toBeTruthy();
  });
});
