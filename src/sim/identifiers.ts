/**
 * @module Identifiers in their real formats: 18-digit resident ID card numbers with the GB 11643
 * check digit, mobile numbers, transit card numbers and Zhejiang-B car plates. Uniqueness comes from
 * bijections of a person's index, so no set of issued numbers has to be kept.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** The GB 11643-1999 check character of the first 17 digits. */
export function idCardCheckDigit(first17: string): string {
  let s = 0;
  for (let i = 0; i < 17; i++) s += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  return CHECK[s % 11];
}

/** True when the value is 18 characters, 17 digits and a correct check character. */
export function isValidIdCard(value: string): boolean {
  return /^\d{17}[\dX]$/.test(value) && idCardCheckDigit(value.slice(0, 17)) === value[17];
}

/**
 * An ID card number: region code, birth date, a 3-digit sequence (odd for men, even for women) and
 * the check digit. The sequence is derived from the person's index so that numbers never collide
 * within one run (up to 500 people per region and birth date, then the region code's last digit
 * is varied).
 */
export function idCardNumber(region: string, birth: { y: number; m: number; d: number }, male: boolean, serial: number): string {
  const seq = ((serial % 500) * 2 + (male ? 1 : 0)) % 1000;
  const regionAdj = serial >= 500 ? region.slice(0, 5) + String((Number(region[5]) + Math.floor(serial / 500)) % 10) : region;
  const body = `${regionAdj}${birth.y}${String(birth.m).padStart(2, '0')}${String(birth.d).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
  return body + idCardCheckDigit(body);
}

const PHONE_PREFIXES = ['138', '139', '135', '136', '137', '150', '151', '158', '159', '186', '187', '188', '133', '153', '180', '189', '177', '199'];

/** A unique 11-digit mobile number for index i (i < 1.8e9): a prefix and an invertible scramble of i. */
export function phoneNumber(i: number, salt: number): string {
  const prefix = PHONE_PREFIXES[i % PHONE_PREFIXES.length];
  const k = Math.floor(i / PHONE_PREFIXES.length);
  // Multiplying by a number coprime to 10^8 permutes 0..10^8-1, so distinct k give distinct numbers.
  // Below 2^53 for any k < 1.8e8, so plain number arithmetic is exact.
  const scrambled = (k * 48271 + (salt % 100000000)) % 100000000;
  return prefix + String(scrambled).padStart(8, '0');
}

/** A unique transit card number `3150` + 12 digits (宁波市民卡 style). */
export function transitCardNumber(i: number, salt: number): string {
  const scrambled = (i * 7919 + (salt % 1000000000000)) % 1000000000000;
  return '3150' + String(scrambled).padStart(12, '0');
}

const PLATE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
const PLATE_SPACE = 34 ** 5;

/** A unique plate `浙B` + 5 characters (letters without I and O, digits). */
export function plateNumber(i: number, salt: number): string {
  let x = (i * 1000003 + (salt % PLATE_SPACE)) % PLATE_SPACE;
  let s = '';
  for (let k = 0; k < 5; k++) {
    s = PLATE_CHARS[x % 34] + s;
    x = Math.floor(x / 34);
  }
  return '浙B' + s;
}
