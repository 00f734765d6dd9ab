/**
 * @module Routes for uploading a data file to ingest (the raw file as the request body), with progress
 * as live events to the uploader, and the download of its rejects file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { IngestService } from '../../services/ingest.service.ts';
import { guard, principalOf } from '../http.ts';
import type { LocalEventSource } from '../live-events.ts';
import { MultipartFileExtractor, multipartBoundary } from '../multipart.ts';
import { errorSchema } from '../schemas.ts';
import type { RouteContext, RouteGroup } from '../server.ts';

/** Upload content types taken as a raw stream. */
const UPLOAD_TYPES = ['text/csv', 'text/plain', 'application/x-ndjson', 'application/jsonl', 'application/octet-stream', 'application/vnd.apache.parquet'];
/** Largest upload (bytes); larger files are ingested from the command line. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

class TooLargeError extends Error {
  readonly statusCode = 413;
  constructor() {
    super(`upload: larger than ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB; ingest such files with \`cordon ingest\``);
    this.name = 'TooLargeError';
  }
}

class UploadInputError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'UploadInputError';
  }
}

class UnavailableError extends Error {
  readonly statusCode = 503;
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

function safeName(name: string): string {
  const base = path.basename(name).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return base || 'upload.csv';
}

export interface IngestRouteDeps {
  /** The ingest service, or null when no presence store is open. */
  ingest: IngestService | null;
  /** Data folder: uploads are staged in `uploads/`, rejects written to `rejects/`. */
  dataDir: string;
  /** Where upload progress is published (to the uploader only). */
  events: LocalEventSource;
  /** Called after each ingest (e.g. to re-read identity links into the tracer). */
  afterIngest?: (kind: string) => Promise<void>;
}

export function ingestRoutes(deps: IngestRouteDeps): RouteGroup {
  return (app: FastifyInstance, ctx: RouteContext) => {
    const ingest = deps.ingest;
    const uploads = path.join(deps.dataDir, 'uploads');
    const rejectsDir = path.join(deps.dataDir, 'rejects');

    app.addContentTypeParser([...UPLOAD_TYPES, 'multipart/form-data'], (_req, payload, done) => done(null, payload));

    app.post<{ Querystring: { name?: string } }>('/api/ingest', {
      preHandler: guard(ctx.auth, 'ingest:write'),
      schema: {
        tags: ['ingest'],
        summary: 'Ingest one file (CSV, JSON Lines or Parquet in a canonical format) sent as the raw body (with ?name=) or as the first file of a multipart form; progress arrives as `ingest.progress` events',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'the file name (its extension tells the format); required for a raw body' } },
        },
        response: { 400: errorSchema, 413: errorSchema },
      },
    }, async (req) => {
      const p = principalOf(req);
      if (!ingest) throw new UnavailableError('no presence store is open: ingest is unavailable');
      const uploadId = crypto.randomUUID();
      const boundary = multipartBoundary(req.headers['content-type']);
      if (!boundary && !req.query.name) throw new UploadInputError('querystring.name: the file name is required with a raw body (e.g. ?name=scans.csv)');
      fs.mkdirSync(uploads, { recursive: true });
      const staging = path.join(uploads, `${uploadId}.part`);
      let file = staging;
      let bytes = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          cb(bytes > MAX_UPLOAD_BYTES ? new TooLargeError() : null, chunk);
        },
      });
      try {
        let name = req.query.name ?? '';
        if (boundary) {
          const extractor = new MultipartFileExtractor(boundary);
          await pipeline(req.body as Readable, extractor, limit, fs.createWriteStream(staging));
          name = req.query.name ?? extractor.filename ?? 'upload';
        } else {
          await pipeline(req.body as Readable, limit, fs.createWriteStream(staging));
        }
        // The name's extension tells the format, so the staged file takes it once known.
        file = path.join(uploads, `${uploadId}-${safeName(name)}`);
        fs.renameSync(staging, file);
        let last = 0;
        const summary = await ingest.ingestFile(file, {
          rejectsDir,
          onProgress: (pr) => {
            const now = Date.now();
            // At most a few events a second: progress is for eyes, not a log.
            if (pr.phase !== 'done' && now - last < 250) return;
            last = now;
            deps.events.publish({ type: 'ingest.progress', jurisdictions: [], userId: p.userId, data: { uploadId, phase: pr.phase, done: pr.done, total: pr.total } });
          },
        });
        await deps.afterIngest?.(summary.kind);
        await ctx.audit.record(p, 'ingest.upload', 'ok', {
          subject: `upload:${uploadId}`,
          detail: { kind: summary.kind, rowsRead: summary.rowsRead, accepted: summary.accepted, rejected: summary.rejected, duplicates: summary.duplicates },
        });
        return {
          uploadId,
          name,
          bytes,
          format: summary.format,
          kind: summary.kind,
          rowsRead: summary.rowsRead,
          accepted: summary.accepted,
          rejected: summary.rejected,
          duplicates: summary.duplicates,
          seconds: summary.seconds,
          rejects: summary.rejectsPath ? `/api/ingest/rejects/${encodeURIComponent(path.basename(summary.rejectsPath))}` : null,
        };
      } finally {
        fs.rmSync(file, { force: true });
        fs.rmSync(staging, { force: true });
      }
    });

    app.get<{ Params: { name: string } }>('/api/ingest/rejects/:name', {
      preHandler: guard(ctx.auth, 'ingest:write'),
      schema: {
        tags: ['ingest'],
        summary: 'Download a rejects file (line, field, reason, value)',
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,200}$' } } },
        response: { 404: errorSchema },
      },
    }, async (req, reply) => {
      const file = path.join(rejectsDir, req.params.name);
      if (!fs.existsSync(file)) return reply.code(404).send({ error: 'not_found', message: `rejects file ${req.params.name} not found` });
      await ctx.audit.record(principalOf(req), 'ingest.rejects.download', 'ok', { subject: `rejects:${req.params.name}` });
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.name}"`).send(fs.createReadStream(file));
    });
  };
}
