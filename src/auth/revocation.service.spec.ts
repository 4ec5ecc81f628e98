import { loadSettings } from '../config/config.loader.js';
import type { Identity } from '../connections/identity.js';
import { defaultIssuedBefore, RevocationService } from './revocation.service.js';

describe('RevocationService', () => {
  const settings = loadSettings({});
  let revocations: RevocationService;
  const ann: Identity = { tenant: 'app-id', userId: 'ann', sessionId: 's1', scopes: [] };
  beforeEach(() => {
    revocations = new RevocationService(settings);
  });
  afterEach(() => revocations.onModuleDestroy());

  it('by default refuses tokens from earlier seconds and accepts those from the revocation second on', () => {
    // 1_800_000_000.999 s: the revocation comes at the very end of its second.
    const revokedAtMs = 1_800_000_000_999;
    revocations.revoke('app-id', 'user', 'ann', defaultIssuedBefore(revokedAtMs));
    expect(revocations.isRevoked(ann, 1_799_999_999)).toBe(true);
    // Minted just after the revoke, or just before it within the same second: accepted (documented same-second rule).
    expect(revocations.isRevoked(ann, 1_800_000_000)).toBe(false);
    expect(revocations.isRevoked(ann, 1_800_000_001)).toBe(false);
  });

  it('an explicit issuedBefore is the cut-off, and a later cut-off never gives way to an earlier one', () => {
    revocations.revoke('app-id', 'session', 's1', 1_800_000_001);
    expect(revocations.isRevoked(ann, 1_800_000_000)).toBe(true);
    expect(revocations.isRevoked(ann, 1_800_000_001)).toBe(false);
    revocations.revoke('app-id', 'session', 's1', 1_700_000_000);
    expect(revocations.isRevoked(ann, 1_800_000_000)).toBe(true);
    expect(revocations.isRevoked({ ...ann, tenant: 'other' }, 1_800_000_000)).toBe(false);
  });

  it('keeps entries at least as long as the longest accepted token lives', () => {
    expect(settings.revocationTtlSeconds).toBe(settings.maxTokenLifetimeSeconds + settings.jwtClockSkewSeconds);
    expect(loadSettings({ HERALD_MAX_TOKEN_LIFETIME_SECONDS: '604800', HERALD_REVOCATION_TTL_SECONDS: '60' }).revocationTtlSeconds).toBe(604_830);
    expect(loadSettings({ HERALD_REVOCATION_TTL_SECONDS: '999999' }).revocationTtlSeconds).toBe(999_999);
  });
});
