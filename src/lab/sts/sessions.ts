import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MAX_SESSION_POLICY_CHARS } from '../../shared/aws/iam-permissions.js';
import type { Parsed } from '../../shared/result.js';
import { errorMessage } from '../../shared/log.js';
import { readTextFile } from '../../shared/files/read-file.js';

/** What a session token carries; signed, so the STS needs no session table. */
export interface Session {
  readonly accessKeyId: string;
  /** arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION */
  readonly arn: string;
  /** ROLEID:SESSION */
  readonly userId: string;
  readonly account: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** Session tags (`aws:PrincipalTag/KEY` in later requests); absent when the session has none. */
  readonly tags?: Readonly<Record<string, string>>;
  /** The keys of `tags` that pass on to sessions chained from this one. */
  readonly transitiveTagKeys?: readonly string[];
  /** The session policy (minified JSON, at most MAX_SESSION_POLICY_CHARS), when the session was given one. */
  readonly policy?: string;
}

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((entry) => typeof entry === 'string');

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `ASIA` and 16 upper-case base32 characters: the shape of a temporary access key id. */
function newAccessKeyId(): string {
  const bytes = randomBytes(16);
  let id = 'ASIA';
  for (const byte of bytes) id += BASE32[byte % 32];
  return id;
}

/**
 * Issues and recognises temporary credentials. Every secret is derived from one server key with
 * HMAC: the secret access key from the access key id, and the session token is the session signed
 * with that key. Keep the key file and the sessions outlive an STS restart (the AWS CLI caches
 * credentials on disk and reuses them).
 */
export class SessionAuthority {
  /** One key object for every HMAC: given a Buffer, createHmac builds a new one each call (5 % of the STS's CPU). */
  private readonly serverKey: KeyObject;

  constructor(serverKey: Buffer) {
    if (serverKey.length < 32) throw new Error('the STS server key must be at least 32 bytes');
    this.serverKey = createSecretKey(serverKey);
  }

  private mac(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.serverKey).update(`${purpose}\n${value}`).digest();
  }

  secretFor(accessKeyId: string): string {
    return this.mac('secret-access-key', accessKeyId).toString('base64').slice(0, 40);
  }

  issue(session: Omit<Session, 'accessKeyId'>): IssuedCredentials {
    const accessKeyId = newAccessKeyId();
    const payload = Buffer.from(JSON.stringify({ v: 1, ...session, accessKeyId })).toString('base64url');
    const signature = this.mac('session-token', payload).toString('base64url');
    return {
      accessKeyId,
      secretAccessKey: this.secretFor(accessKeyId),
      sessionToken: `${payload}.${signature}`,
      expiration: new Date(session.expiresAt * 1000),
    };
  }

  /** The session a token stands for, or undefined when it was not issued with this key. */
  open(sessionToken: string): Session | undefined {
    const [payload, signature, extra] = sessionToken.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = this.mac('session-token', payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session & { v?: number };
      if (value.v !== 1 || typeof value.accessKeyId !== 'string' || typeof value.expiresAt !== 'number') return undefined;
      const policy = typeof value.policy === 'string' && value.policy.length <= MAX_SESSION_POLICY_CHARS ? { policy: value.policy } : {};
      const session: Session = { accessKeyId: value.accessKeyId, arn: value.arn, userId: value.userId, account: value.account, expiresAt: value.expiresAt, ...policy };
      if (!isStringRecord(value.tags)) return session;
      return { ...session, tags: value.tags, transitiveTagKeys: isStringList(value.transitiveTagKeys) ? value.transitiveTagKeys : [] };
    } catch {
      return undefined;
    }
  }
}

/** Reads the server key, creating a random one (mode 0600) on first use. */
export async function loadOrCreateServerKey(path: string): Promise<Parsed<Buffer> & { created?: boolean }> {
  const file = await readTextFile(path, { what: 'the STS server key', maxBytes: 64 * 1024 });
  if (file.ok) {
    const text = file.value.trim();
    const key = Buffer.from(text, 'hex');
    if (key.length < 32 || key.toString('hex') !== text.toLowerCase()) {
      return { ok: false, error: `${path} must hold at least 32 bytes as hex (delete it to have a new one generated)` };
    }
    return { ok: true, value: key };
  }
  if (file.code !== 'ERR_FILE_NOT_FOUND') return file;
  const key = randomBytes(32);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    return { ok: false, error: `cannot create ${path}: ${errorMessage(error)}` };
  }
  return { ok: true, value: key, created: true };
}
