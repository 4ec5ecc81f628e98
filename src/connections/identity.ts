/** Wire protocols Herald speaks; each is a gateway plus a codec over the same core. */
export const PROTOCOLS = ['bus', 'pusher', 'rpc', 'jsonrpc', 'topics'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** What a connection is allowed to do, from the JWT `scope` claim. */
export type Scope = 'subscribe' | 'publish';

/**
 * Who is on the other end of a connection. `tenant` is fixed at the upgrade; the rest may be set
 * later (Pusher `signin`, RPC `auth`) through `ConnectionRegistry.identify` so indexes stay right.
 */
export interface Identity {
  tenant: string;
  /** JWT `sub`, or the Pusher signed-in user id. */
  userId?: string;
  /** JWT `sid`: session id or session-token hash. */
  sessionId?: string;
  /** JWT `jti`: API token id. */
  tokenId?: string;
  scopes: readonly Scope[];
  /** Channel patterns: exact names, a trailing `*` is a prefix wildcard. Undefined = none given. */
  authorizedChannels?: readonly string[];
  /** Times of the JWT this identity came from (absent for Pusher sign-ins and anonymous RPC sockets). */
  jwt?: JwtTimes;
}

/** A verified JWT's `iat` and `exp`, seconds since the epoch: the socket closes at `exp`, revocation compares `iat`. */
export interface JwtTimes {
  issuedAt: number;
  expiresAt: number;
}
