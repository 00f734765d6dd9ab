/**
 * @module The worker thread of the fast CSV engine: it parses, checks and encodes a presence file
 * (`ingestPresencesCsv`) against its own copy of the store's dictionaries, and asks the main thread
 * for everything that touches the store (commits, rejects, the SQL checks of unusual records).
 */
import { parentPort } from 'node:worker_threads';
import type { DictionaryDelta, EncodedInsertResult, EncodedPresenceBatch, EncodedPresenceLoader, SqlRunner, SqlValue } from '../stores/presence/presence-store.ts';
import { DictionarySnapshot, ingestPresencesCsv, recycleBatchColumns, type BatchColumnArrays, type WorkerMessage, type WorkerStart } from './fast-presences.ts';

const port = parentPort!;
let seq = 0;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
/** The dictionary copy and the store it belongs to. */
let snapshot = new DictionarySnapshot();
let snapshotStore = -1;

function post(m: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function call<T>(op: Extract<WorkerMessage, { type: 'call' }>['op'], args: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
  const id = ++seq;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    post({ type: 'call', id, op, args }, transfer);
  });
}

const sql: SqlRunner = {
  run: (q) => call('run', q),
  rows: (q) => call('rows', q),
  columns: (q) => call('columns', q),
  append: (table, rows) => call('append', [table, rows as SqlValue[][]]),
};

const loader: EncodedPresenceLoader = {
  dictionaries: async () => {
    snapshot.apply(await call<DictionaryDelta>('delta', snapshot.counts));
    return snapshot;
  },
  dictionaryDelta: (since) => call('delta', since),
  commitEncoded: (b: EncodedPresenceBatch, options) => {
    const batch: EncodedPresenceBatch = {
      length: b.length, ident: b.ident, place: b.place, start: b.start, end: b.end, sub: b.sub, source: b.source,
      flags: b.flags, lat: b.lat, lon: b.lon, fresh: b.fresh,
    };
    const transfer = [b.ident, b.place, b.start, b.end, b.sub, b.source, b.flags, b.lat, b.lon].map((a) => a.buffer as ArrayBuffer);
    // The reply brings the columns back (the main thread is done with them) for the next batches.
    return call<EncodedInsertResult & { columns?: BatchColumnArrays }>('commit', [batch, options?.checkpoint ?? true], transfer).then(({ columns, ...res }) => {
      if (columns) recycleBatchColumns(columns);
      return res;
    });
  },
  recordBatch: (b) => call('record', b),
};

port.on('message', (m: { type: 'reply'; id: number; ok: boolean; value?: unknown; message?: string } | { type: 'start'; options: WorkerStart }) => {
  if (m.type === 'reply') {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve(m.value);
    else w?.reject(new Error(m.message));
    return;
  }
  const { store, ...options } = m.options;
  if (store !== snapshotStore) {
    snapshot = new DictionarySnapshot();
    snapshotStore = store;
  }
  ingestPresencesCsv({ ...options, sql, loader, onCommitted: () => undefined, onRead: (bytes, total) => post({ type: 'read', bytes, total }) }).then(
    (result) => post({ type: 'done', result }),
    (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

post({ type: 'ready' });
