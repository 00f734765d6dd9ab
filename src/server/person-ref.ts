/**
 * @module Opaque person references for the API. Inside Cordon a person is keyed by one of their
 * identifiers (`id_card:…`), which is personal data: it must not appear in URLs, lists or logs. The API
 * shows a deterministic, authenticated encryption of the key instead (AES-256-GCM with a synthetic IV
 * from an HMAC of the key, so one person always has one reference), and turns it back on the way in.
 */
import crypto from 'node:crypto';
import { maskIdKey } from '../domain/auth.ts';

export class PersonRefError extends Error {
  readonly statusCode = 404;
  constructor() {
    super('person not found');
    this.name = 'PersonRefNotFoundError';
  }
}

export class PersonRefCodec {
  private readonly encKey: Buffer;
  private readonly ivKey: Buffer;
  /** Encoding costs an HMAC and a cipher run; lists repeat the same people, so keep recent ones. */
  private readonly memo = new Map<string, string>();

  constructor(secret: string) {
    // Separate keys for encryption and IV derivation, both from the deployment secret.
    this.encKey = Buffer.from(crypto.hkdfSync('sha256', secret, 'cordon', 'person-ref/enc', 32));
    this.ivKey = Buffer.from(crypto.hkdfSync('sha256', secret, 'cordon', 'person-ref/iv', 32));
  }

  /** The reference of a person key (`p_` + base64url). */
  encode(personKey: string): string {
    const known = this.memo.get(personKey);
    if (known !== undefined) return known;
    const ref = this.encrypt(personKey);
    if (this.memo.size >= 200_000) this.memo.clear();
    this.memo.set(personKey, ref);
    return ref;
  }

  private encrypt(personKey: string): string {
    const iv = crypto.createHmac('sha256', this.ivKey).update(personKey).digest().subarray(0, 12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = Buffer.concat([cipher.update(personKey, 'utf8'), cipher.final()]);
    return `p_${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** The person key of a reference; a forged or foreign reference is "not found". */
  decode(ref: string): string {
    if (!ref.startsWith('p_')) throw new PersonRefError();
    const raw = Buffer.from(ref.slice(2), 'base64url');
    if (raw.length < 29) throw new PersonRefError();
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.encKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new PersonRefError();
    }
  }

  /** A person as lists show them: the reference and masked identifiers. */
  person(personKey: string, ids: readonly string[]): { personRef: string; ids: string[] } {
    return { personRef: this.encode(personKey), ids: ids.map(maskIdKey) };
  }
}
