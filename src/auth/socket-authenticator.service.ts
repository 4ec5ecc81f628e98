import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { parseRequestTarget, type RequestTarget } from '../common/request-target.js';
import { AppRegistry } from '../config/app-registry.service.js';
import type { AppConfig } from '../config/herald-config.js';
import { JwtVerifier, type VerifiedToken } from './jwt-verifier.service.js';
import { RevocationService } from './revocation.service.js';
import { closeReason } from '../common/close-reason.js';

/** Why a WebSocket is refused right after the upgrade: close code + reason (Cloudillo style). */
export class SocketRejectedError extends Error {
  readonly code = 'socket_rejected' as const;
  constructor(readonly closeCode: number, readonly reason: string) {
    super(reason);
  }
}

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_UNKNOWN_APP = 4404;

/** A target the upgrade listener would have refused with 400; reads as "no query" if one ever gets here. */
const NO_TARGET: RequestTarget = { pathname: '/', searchParams: new URLSearchParams() };

/** The path and query of an upgrade request, through the one request-target parser (never throws). */
export function upgradeUrl(request: IncomingMessage): RequestTarget {
  return parseRequestTarget(request.url) ?? NO_TARGET;
}

/** `Authorization: Bearer <jwt>` first, then `?token=` (browsers cannot set headers on a WebSocket). */
export function bearerToken(request: IncomingMessage, url: RequestTarget = upgradeUrl(request)): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? url.searchParams.get('token') ?? undefined;
}

/** Resolves the tenant and verifies the JWT of a WebSocket upgrade. */
@Injectable()
export class SocketAuthenticator {
  constructor(
    private readonly apps: AppRegistry,
    private readonly jwt: JwtVerifier,
    private readonly revocations: RevocationService,
  ) {}

  /** The app from `?app=<key>` (or the only app); throws 4404 when unknown. */
  resolveApp(request: IncomingMessage, url: RequestTarget = upgradeUrl(request)): AppConfig {
    const key = url.searchParams.get('app');
    const app = this.apps.resolveForSocket(key);
    if (!app) {
      throw new SocketRejectedError(CLOSE_UNKNOWN_APP, key ? `Unknown app key "${key.slice(0, 64)}"` : 'App key required (?app=<key>)');
    }
    if (!app.enabled) throw new SocketRejectedError(CLOSE_UNKNOWN_APP, 'App disabled');
    return app;
  }

  /** Verifies a token for an app; throws 4401 with what was wrong. */
  verifyToken(token: string | undefined, app: AppConfig): VerifiedToken {
    let verified: VerifiedToken;
    try {
      verified = this.jwt.verify(token, app);
    } catch (error) {
      throw new SocketRejectedError(CLOSE_UNAUTHORIZED, `Unauthorized - ${(error as Error).message}`);
    }
    if (this.revocations.isRevoked(verified.identity, verified.issuedAt)) {
      throw new SocketRejectedError(CLOSE_UNAUTHORIZED, 'Unauthorized - token revoked');
    }
    return verified;
  }

  /**
   * For protocols that authenticate at the upgrade: the app and token, or undefined after closing the socket
   * right away with the rejection's code and reason (the upgrade itself completed, so a browser learns why).
   */
  authenticateOrClose(socket: WebSocket, request: IncomingMessage): { app: AppConfig; token: VerifiedToken } | undefined {
    try {
      return this.authenticate(request);
    } catch (error) {
      if (!(error instanceof SocketRejectedError)) throw error;
      socket.close(error.closeCode, closeReason(error.reason));
      return undefined;
    }
  }

  /** Both steps for protocols that authenticate at the upgrade (`/ws/bus`, `/ws/topics`). */
  authenticate(request: IncomingMessage): { app: AppConfig; token: VerifiedToken } {
    const url = upgradeUrl(request);
    const app = this.resolveApp(request, url);
    return { app, token: this.verifyToken(bearerToken(request, url), app) };
  }
}
