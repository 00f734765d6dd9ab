import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClickHouseUrl } from '../../../../test/support/services.ts';
import { connectClickHouse, parseClickHouseUrl, type ClickHouseConnection } from './clickhouse-connection.ts';
import { ClickHousePresenceStore } from './clickhouse-presence-store.ts';
import { UnsafeSqlValueError, sqlInt, sqlList, sqlName, sqlString, sqlUInt32, wellFormed } from './clickhouse-sql.ts';

/** Values written to break out of a literal, in every way we know. */
const HOSTILE = [
  "'",
  "\\'",
  "\\",
  "a\\",
  "'); DROP TABLE canary; --",
  "' OR '1'='1",
  "x' UNION ALL SELECT name FROM system.tables --",
  'nul\u0000byte',
  'tab\tnew\nline\rcr',
  '\u0007\u001b[31mescape',
  '\\x27',
  '\\0',
  '张三 🦠 \u202e',
  "'''",
  '\ud800 lone surrogate',
  '`backtick` "double"',
  '; SELECT 1',
];

describe('sqlString and friends (no server)', () => {
  it('keeps quotes, backslashes and control characters inside the literal', () => {
    expect(sqlString("a'b")).toBe("'a\\'b'");
    expect(sqlString('a\\b')).toBe("'a\\\\b'");
    expect(sqlString('a\u0000b')).toBe("'a\\x00b'");
    expect(sqlString('x\ny')).toBe("'x\\x0ay'");
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const lit = sqlString(s);
        // Inside the quotes no unescaped quote and no raw control character may remain.
        const body = lit.slice(1, -1);
        expect(body.replace(/\\\\/g, '').replace(/\\'/g, '')).not.toContain("'");
        // eslint-disable-next-line no-control-regex
        expect(body).not.toMatch(/[\u0000-\u001f\u007f]/);
      }),
    );
  });

  it('refuses numbers that are not safe integers and names that need quoting', () => {
    for (const bad of [Number.NaN, Infinity, 1.5, 2 ** 60, -1]) expect(() => sqlUInt32(bad)).toThrow(UnsafeSqlValueError);
    expect(sqlUInt32(4294967295)).toBe('4294967295');
    expect(() => sqlUInt32(4294967296)).toThrow(UnsafeSqlValueError);
    expect(sqlInt(-5)).toBe('-5');
    for (const bad of ['a-b', '1abc', 'x; DROP', 'a.b', '', 'a b', 'x`']) expect(() => sqlName(bad)).toThrow(UnsafeSqlValueError);
    expect(sqlName('cordon_shard1')).toBe('cordon_shard1');
    expect(sqlList([], sqlUInt32)).toBe('(NULL)');
  });

  it('refuses presence URLs with unsafe database or cluster names', () => {
    expect(() => parseClickHouseUrl("clickhouse://127.0.0.1:8123/db';DROP")).toThrow();
    expect(() => parseClickHouseUrl('clickhouse://127.0.0.1:8123/db?cluster=a.b')).toThrow();
    expect(parseClickHouseUrl('clickhouse://u:p@127.0.0.1/store')).toMatchObject({
      httpUrl: 'http://127.0.0.1:8123', username: 'u', password: 'p', database: 'store', cluster: 'cordon_cluster',
    });
  });
});

const base = await testClickHouseUrl();

describe.skipIf(!base)('hostile values against a real ClickHouse', () => {
  if (!base) return;
  const db = `cordon_test_sql_${process.pid}`;
  let conn: ClickHouseConnection;
  beforeAll(async () => {
    conn = connectClickHouse(parseClickHouseUrl(`${base}/${db}`));
    await conn.command(`DROP DATABASE IF EXISTS ${db}`);
    await conn.command(`CREATE DATABASE ${db}`);
    await conn.command(`CREATE TABLE ${db}.canary (v String) ENGINE = MergeTree ORDER BY v`);
    await conn.command(`INSERT INTO ${db}.canary VALUES ('one'), ('two')`);
  });
  afterAll(async () => {
    await conn.command(`DROP DATABASE IF EXISTS ${db}`);
    await conn.close();
  });

  it('every hostile literal reads back as exactly itself and changes nothing', async () => {
    for (const s of HOSTILE) {
      const rows = await conn.rows<{ s: string }>(`SELECT ${sqlString(s)} AS s`);
      expect(rows).toEqual([{ s: wellFormed(s) }]);
      // As a filter it matches nothing, and the table is still there with both rows.
      const hit = await conn.rows<{ v: string }>(`SELECT v FROM ${db}.canary WHERE v = ${sqlString(s)}`);
      expect(hit).toEqual([]);
    }
    const left = await conn.rows<{ n: string }>(`SELECT count() AS n FROM ${db}.canary`);
    expect(Number(left[0].n)).toBe(2);
  });

  it('random strings round-trip through a literal', async () => {
    const samples = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), { numRuns: 200, seed: 6 });
    const list = samples.map((s, i) => `${sqlString(s)} AS s${i}`).join(', ');
    const rows = await conn.rows<Record<string, string>>(`SELECT ${list}`);
    samples.forEach((s, i) => expect(rows[0][`s${i}`]).toBe(wellFormed(s)));
  });

  it('hostile identifiers, places and people go through the store without touching other rows', async () => {
    const sut = await ClickHousePresenceStore.open(`${base!.replace(/^http:/, 'clickhouse:')}/${db}_store`);
    try {
      await sut.drop();
      await sut.init();
      const T = 1_580_000_000;
      const values = HOSTILE.filter((v) => !v.includes('\ud800'));
      const res = await sut.insertPresences([
        ...values.map((v, i) => ({ idKind: 'passport' as const, idValue: v, placeKind: 'venue' as const, placeId: v, start: T + i, end: T + 600, sub: v, source: v, dateOnly: false, pointEvent: false })),
        { idKind: 'passport' as const, idValue: 'bystander', placeKind: 'venue' as const, placeId: 'safe', start: T, end: T + 600, dateOnly: false, pointEvent: false },
      ]);
      expect(res).toEqual({ inserted: values.length + 1, duplicates: 0 });
      for (const v of values) {
        const mine = await sut.presencesOf([`passport:${v}`], T - 10, T + 10_000);
        expect(mine.map((p) => [p.idValue, p.placeId, p.sub, p.source])).toEqual([[v, v, v, v]]);
        const there = await sut.presencesAt([{ placeKind: 'venue', placeId: v, from: T - 10, to: T + 10_000 }]);
        expect(there.map((p) => p.idValue)).toEqual([v]);
      }
      await sut.upsertPeople(values.map((v) => ({ idKind: 'passport' as const, idValue: v, name: v, address: v })));
      const people = await sut.people(values.map((v) => `passport:${v}`));
      expect(people.map((p) => p.name).sort()).toEqual([...values].sort());
      expect(people.every((p) => p.name === p.idValue && p.address === p.idValue)).toBe(true);
      await sut.insertIdentityLinks(values.map((v) => ({ aKind: 'passport' as const, aValue: v, bKind: 'phone' as const, bValue: v })));
      const links = [];
      for await (const chunk of sut.identityLinks()) links.push(...chunk);
      expect(links.map((l) => l.aValue).sort()).toEqual([...values].sort());
      expect(links.every((l) => l.aValue === l.bValue)).toBe(true);
      const stats = await sut.stats();
      expect(stats).toMatchObject({ presences: values.length + 1, people: values.length, identityLinks: values.length });
    } finally {
      await sut.drop();
      await sut.close();
    }
  });
});
