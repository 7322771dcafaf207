import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry, Role } from './gateway.env';

/** The cookie the web UI's browser sends on its own (images, EventSource), set by `POST /v1/session`. */
export const SESSION_COOKIE = 'adseed_session';

/** An API key's fingerprint: what sessions and the rate limiter name a key by (never the key itself). */
export const keyFingerprint = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 32);

export interface Session {
  /** The signing key's fingerprint: a session dies with its key. */
  key: string;
  tenant: string;
  role: Role;
  name: string;
  /** Seconds since the epoch. */
  expires: number;
}

/**
 * Signed session tokens: `<base64url(JSON)>.<base64url(HMAC-SHA256)>` over the key's
 * fingerprint, tenant, role, name and expiry. The HMAC key is `ADSEED_SESSION_SECRET`, or else
 * derived from the configured API keys (secret themselves), so every gateway replica with the
 * same keys accepts the same sessions and changing the keys ends every session. A session is
 * honoured only while its key is still configured with the same tenant, role and name.
 */
export class SessionTokens {
  private readonly secret: Buffer;
  private readonly byFingerprint = new Map<string, ApiKeyEntry>();

  constructor(
    keys: Map<string, ApiKeyEntry>,
    secret: string | undefined,
    private readonly ttlSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    for (const [key, entry] of keys) this.byFingerprint.set(keyFingerprint(key), entry);
    const material = secret ?? `adseed-session\0${[...keys.keys()].sort().join('\0')}`;
    this.secret = createHash('sha256').update(material).digest();
  }

  issue(key: string, entry: ApiKeyEntry): { token: string; session: Session } {
    return this.issueFor(keyFingerprint(key), entry);
  }

  /** A session for the key with this fingerprint (the gateway never keeps a key past the check). */
  issueFor(fingerprint: string, entry: ApiKeyEntry): { token: string; session: Session } {
    const session: Session = {
      key: fingerprint,
      tenant: entry.tenant,
      role: entry.role,
      name: entry.name,
      expires: Math.floor(this.now() / 1000) + this.ttlSeconds,
    };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, session };
  }

  /** The session a token proves, or undefined (bad signature, expired, or its key is gone or changed). */
  verify(token: string): Session | undefined {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined || payload.length > 2048) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let session: Session;
    try {
      session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
    } catch {
      return undefined;
    }
    if (!(session.expires * 1000 > this.now())) return undefined;
    const entry = this.byFingerprint.get(session.key);
    if (!entry || entry.tenant !== session.tenant || entry.role !== session.role || entry.name !== session.name) return undefined;
    return session;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

/** The value of one cookie in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
