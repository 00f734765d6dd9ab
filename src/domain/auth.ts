/**
 * @module Authentication rules that need no store: TOTP (RFC 6238 over RFC 4226 HOTP), base32 secrets,
 * the session and lockout policy, password rules, and the masking of identifiers in lists.
 */
import crypto from 'node:crypto';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  /** Digits of the code (6 for authenticator apps; the RFC's vectors use 8). */
  digits?: number;
  /** Time step in seconds (30 by default, as authenticator apps use). */
  period?: number;
  algorithm?: TotpAlgorithm;
}

/** RFC 4226 HOTP: the code for a counter value. */
export function hotp(secret: Buffer, counter: bigint, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = crypto.createHmac(algorithm, secret).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 TOTP: the code at a time (epoch seconds). */
export function totp(secret: Buffer, epochSeconds: number, opts: TotpOptions = {}): string {
  const period = opts.period ?? 30;
  return hotp(secret, BigInt(Math.floor(epochSeconds / period)), opts.digits ?? 6, opts.algorithm ?? 'sha1');
}

/**
 * Checks a code against the steps around `epochSeconds` (±`window` steps, for clock drift) and returns
 * the matching step, so the caller can refuse a step already used (no replay), or null.
 */
export function verifyTotp(
  secret: Buffer,
  code: string,
  epochSeconds: number,
  opts: TotpOptions & { window?: number } = {},
): number | null {
  const digits = opts.digits ?? 6;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return null;
  const period = opts.period ?? 30;
  const step = Math.floor(epochSeconds / period);
  const window = opts.window ?? 1;
  for (let d = -window; d <= window; d++) {
    const candidate = hotp(secret, BigInt(step + d), digits, opts.algorithm ?? 'sha1');
    if (crypto.timingSafeEqual(Buffer.from(candidate), Buffer.from(code))) return step + d;
  }
  return null;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: the form authenticator apps take secrets in. */
export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case and spaces ignored, padding optional); throws on a character outside the alphabet. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new Error(`base32: invalid character "${ch}"`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A fresh 160-bit TOTP secret in base32 (RFC 4226 recommends 160 bits). */
export function newTotpSecret(): string {
  return base32Encode(crypto.randomBytes(20));
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secretBase32: string, account: string, issuer = 'Cordon'): string {
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}

/** How long sessions live and when accounts lock. */
export interface SessionPolicy {
  /** A session unused this long (seconds) ends. */
  idleSeconds: number;
  /** A session ends this long (seconds) after login, used or not. */
  absoluteSeconds: number;
  /** Consecutive failed logins that lock an account. */
  maxFailedLogins: number;
  /** How long (seconds) a locked account stays locked unless an administrator unlocks it. */
  lockSeconds: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleSeconds: 30 * 60,
  absoluteSeconds: 12 * 60 * 60,
  maxFailedLogins: 5,
  lockSeconds: 15 * 60,
};

/** Why a session is no longer valid at `now`, or null while it is. Times in epoch seconds. */
export function sessionExpiry(
  s: { createdAt: number; lastSeenAt: number },
  now: number,
  policy: SessionPolicy,
): 'idle' | 'absolute' | null {
  if (now - s.createdAt >= policy.absoluteSeconds) return 'absolute';
  if (now - s.lastSeenAt >= policy.idleSeconds) return 'idle';
  return null;
}

/** Problems with a new password, empty when acceptable. Length beats composition rules (NIST SP 800-63B). */
export function passwordProblems(password: string, username?: string): string[] {
  const problems: string[] = [];
  if (password.length < 12) problems.push('password must have at least 12 characters');
  if (password.length > 256) problems.push('password must have at most 256 characters');
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push('password must not contain the user name');
  if (/^(.)\1*$/.test(password)) problems.push('password must not be one repeated character');
  return problems;
}

/** A random one-time password that is easy to type: four groups of four from an unambiguous alphabet. */
export function newOneTimePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = crypto.randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += alphabet[bytes[i] % alphabet.length];
  }
  return out;
}

/** Masks a phone number for lists: `13800000000` → `138****0000`. */
export function maskPhone(phone: string): string {
  if (phone.length <= 7) return '*'.repeat(phone.length);
  return phone.slice(0, 3) + '*'.repeat(phone.length - 7) + phone.slice(-4);
}

/** Masks an ID card number for lists: `330203199001011234` → `330203********1234`. */
export function maskIdCard(id: string): string {
  if (id.length <= 10) return '*'.repeat(id.length);
  return id.slice(0, 6) + '*'.repeat(id.length - 10) + id.slice(-4);
}

/** Masks any identifier by kind; other kinds keep their first and last two characters. */
export function maskIdentifier(kind: string, value: string): string {
  switch (kind) {
    case 'phone':
      return maskPhone(value);
    case 'id_card':
    case 'passport':
      return maskIdCard(value);
    case 'person':
      // A Cordon person key is an internal surrogate, not personal data.
      return value;
    default:
      return value.length <= 4 ? '*'.repeat(value.length) : value.slice(0, 2) + '*'.repeat(value.length - 4) + value.slice(-2);
  }
}

/** Masks a `kind:value` key, keeping the kind. */
export function maskIdKey(key: string): string {
  const i = key.indexOf(':');
  if (i <= 0) return maskIdentifier('', key);
  return `${key.slice(0, i)}:${maskIdentifier(key.slice(0, i), key.slice(i + 1))}`;
}
