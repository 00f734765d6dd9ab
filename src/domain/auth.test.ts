import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  DEFAULT_SESSION_POLICY,
  maskIdCard,
  maskIdKey,
  maskPhone,
  newOneTimePassword,
  passwordProblems,
  sessionExpiry,
  totp,
  verifyTotp,
} from './auth.ts';

// RFC 6238, Appendix B: the seeds are ASCII "1234567890" repeated to the hash's length.
const SEEDS = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('at %i gives the RFC vectors for SHA-1, SHA-256 and SHA-512', (t, sha1, sha256, sha512) => {
    expect(totp(SEEDS.sha1, t, { digits: 8, algorithm: 'sha1' })).toBe(sha1);
    expect(totp(SEEDS.sha256, t, { digits: 8, algorithm: 'sha256' })).toBe(sha256);
    expect(totp(SEEDS.sha512, t, { digits: 8, algorithm: 'sha512' })).toBe(sha512);
  });

  it('accepts the neighbouring step and refuses codes further away or malformed', () => {
    const t = 1111111111;
    const step = Math.floor(t / 30);
    expect(verifyTotp(SEEDS.sha1, totp(SEEDS.sha1, t), t)).toBe(step);
    expect(verifyTotp(SEEDS.sha1, totp(SEEDS.sha1, t - 30), t)).toBe(step - 1);
    expect(verifyTotp(SEEDS.sha1, totp(SEEDS.sha1, t - 90), t)).toBeNull();
    expect(verifyTotp(SEEDS.sha1, '12345', t)).toBeNull();
    expect(verifyTotp(SEEDS.sha1, 'abcdef', t)).toBeNull();
  });
});

describe('base32', () => {
  it('round-trips and matches RFC 4648 examples', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI======').toString()).toBe('foobar');
    expect(base32Decode('mzxw 6ytb oi').toString()).toBe('foobar');
    expect(() => base32Decode('MZ1W')).toThrow(/invalid character "1"/);
  });
});

describe('masking', () => {
  it('masks phones and ID cards as lists show them', () => {
    expect(maskPhone('13800000000')).toBe('138****0000');
    expect(maskIdCard('330203199001011234')).toBe('330203********1234');
    expect(maskIdKey('phone:13912345678')).toBe('phone:139****5678');
    expect(maskIdKey('id_card:33020319900101123X')).toBe('id_card:330203********123X');
    expect(maskIdKey('plate:浙B12345')).toBe('plate:浙B***45');
  });
});

describe('sessions and passwords', () => {
  const p = DEFAULT_SESSION_POLICY;
  it('ends a session when idle or too old, whichever comes first', () => {
    expect(sessionExpiry({ createdAt: 0, lastSeenAt: 0 }, p.idleSeconds - 1, p)).toBeNull();
    expect(sessionExpiry({ createdAt: 0, lastSeenAt: 0 }, p.idleSeconds, p)).toBe('idle');
    expect(sessionExpiry({ createdAt: 0, lastSeenAt: p.absoluteSeconds - 10 }, p.absoluteSeconds, p)).toBe('absolute');
  });

  it('judges passwords by length and refuses the user name inside', () => {
    expect(passwordProblems('short')).toContain('password must have at least 12 characters');
    expect(passwordProblems('officer-luotuo-2020', 'officer')).toContain('password must not contain the user name');
    expect(passwordProblems('a long enough passphrase')).toEqual([]);
    const otp = newOneTimePassword();
    expect(otp).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    expect(passwordProblems(otp)).toEqual([]);
  });
});
