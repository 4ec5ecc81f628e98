import { Injectable } from '@nestjs/common';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { HeraldConfig, type AppConfig } from '../config/herald-config.js';
import { TokenInvalidError } from '../errors/app.errors.js';
import type { Identity, Scope } from '../connections/identity.js';

/** Verified JWT contents kept on a connection. */
export interface VerifiedToken {
  identity: Identity;
  /** `iat` in seconds; revocation compares it with the revocation's `issuedBefore`. */
  issuedAt: number;
  expiresAt: number;
}

const SCOPES: readonly Scope[] = ['subscribe', 'publish'];

function stringArray(value: unknown, claim: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TokenInvalidError(`claim "${claim}" must be an array of strings`);
  }
  return value;
}

function optionalString(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new TokenInvalidError(`claim "${claim}" must be a non-empty string`);
  return value;
}

/**
 * HS256 JWTs signed with the app's secret: `exp` and `iat` required, `aud` must contain the app's audience,
 * `sub` non-empty; `sid`, `jti`, `scope`, `authorizedChannels` optional. Errors say what was wrong.
 *
 * Lifetime rules (so that a denylist entry, which lives `maxTokenLifetimeSeconds + jwtClockSkewSeconds`,
 * outlives every token it refuses): `iat` is required and at most `jwtClockSkewSeconds` in the future, and
 * `exp - iat` is at most `maxTokenLifetimeSeconds`. A token without `iat` could have been issued at any time,
 * so no revocation could be sure to cover it.
 */
@Injectable()
export class JwtVerifier {
  /** One KeyObject per app: handing jsonwebtoken a string makes it try (and fail) to parse a public key first on every verify. */
  private readonly keys = new WeakMap<AppConfig, KeyObject>();

  constructor(
    private readonly jwt: JwtService,
    private readonly config: HeraldConfig,
  ) {}

  private keyOf(app: AppConfig): KeyObject {
    let key = this.keys.get(app);
    if (!key) this.keys.set(app, (key = createSecretKey(Buffer.from(app.secret, 'utf8'))));
    return key;
  }

  verify(token: string | undefined, app: AppConfig): VerifiedToken {
    if (!token) throw new TokenInvalidError('token missing');
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify<Record<string, unknown>>(token, {
        // jsonwebtoken accepts a KeyObject here (its documented `secretOrPublicKey` type); @nestjs/jwt's typing is narrower.
        secret: this.keyOf(app) as unknown as Buffer,
        algorithms: ['HS256'],
        audience: app.jwtAudience,
        clockTolerance: this.config.jwtClockSkewSeconds,
      });
    } catch (error) {
      throw new TokenInvalidError(describeJwtError(error, app.jwtAudience));
    }
    if (typeof claims.exp !== 'number') throw new TokenInvalidError('token has no exp claim');
    if (typeof claims.iat !== 'number') throw new TokenInvalidError('token has no iat claim');
    const { exp, iat } = claims;
    if (iat > Date.now() / 1000 + this.config.jwtClockSkewSeconds) throw new TokenInvalidError('token issued in the future (iat)');
    if (exp - iat > this.config.maxTokenLifetimeSeconds) {
      throw new TokenInvalidError(`token lifetime (exp - iat) exceeds ${this.config.maxTokenLifetimeSeconds} s`);
    }
    const sub = claims.sub;
    if (typeof sub !== 'string' || sub === '') throw new TokenInvalidError('token has no sub claim');
    const scope = stringArray(claims.scope, 'scope') ?? [];
    const unknownScope = scope.find((item) => !SCOPES.includes(item as Scope));
    if (unknownScope !== undefined) throw new TokenInvalidError(`unknown scope "${unknownScope}"`);
    const authorizedChannels = stringArray(claims.authorizedChannels, 'authorizedChannels');
    const identity: Identity = {
      tenant: app.id,
      userId: sub,
      scopes: scope as Scope[],
      ...(authorizedChannels && { authorizedChannels }),
      jwt: { issuedAt: iat, expiresAt: exp },
    };
    const sessionId = optionalString(claims.sid, 'sid');
    const tokenId = optionalString(claims.jti, 'jti');
    if (sessionId) identity.sessionId = sessionId;
    if (tokenId) identity.tokenId = tokenId;
    return { identity, issuedAt: iat, expiresAt: exp };
  }
}

function describeJwtError(error: unknown, audience: string): string {
  const name = (error as { name?: string }).name;
  const message = (error as { message?: string }).message ?? '';
  if (name === 'TokenExpiredError') return 'token expired';
  if (name === 'NotBeforeError') return 'token not active yet';
  if (message.includes('audience')) return `token audience must include "${audience}"`;
  if (message.includes('signature')) return 'invalid token signature';
  if (message.includes('algorithm')) return 'token algorithm must be HS256';
  if (message.includes('malformed') || message.includes('jwt must be')) return 'malformed token';
  return `invalid token (${message})`;
}
