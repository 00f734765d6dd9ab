/**
 * @module Live updates over server-sent events: one hub that takes every event the services publish
 * and writes each to the open streams whose user may see it (their jurisdiction's subtree).
 */
import type { ServerResponse } from 'node:http';
import type { Principal } from '../services/auth.service.ts';

/** An event as the server streams it. */
export interface LiveEvent {
  /** Event name for the client (`command.created`, `case.confirmed`, `ingest.progress`, …). */
  type: string;
  /**
   * Jurisdictions the event concerns: a user sees it when one of them is in their subtree. Empty means
   * every logged-in user may see it (e.g. jurisdictions imported).
   */
  jurisdictions: readonly string[];
  /** When set, only this user receives it (e.g. the progress of their own upload). */
  userId?: string;
  /** Payload, already free of unmasked identifiers. */
  data: unknown;
}

/** Something that publishes events (the loop's event bus is adapted to this). */
export interface LiveEventSource {
  /** Calls `listener` for each event until the returned function is called. */
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

/** A simple in-process source: the server's own events (ingest progress) and tests publish here. */
export class LocalEventSource implements LiveEventSource {
  private readonly listeners = new Set<(event: LiveEvent) => void>();

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers an event to every subscriber; a failing subscriber does not stop the others. */
  publish(event: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // One broken stream must not stop delivery to the rest.
      }
    }
  }
}

interface Stream {
  principal: Principal;
  res: ServerResponse;
}

/** Decides whether a principal may see an event of a jurisdiction. */
export type EventScope = (principal: Principal, jurisdiction: string) => Promise<boolean> | boolean;

export class LiveHub {
  private readonly streams = new Set<Stream>();
  private readonly unsubscribe: (() => void)[] = [];
  private seq = 0;

  constructor(sources: readonly LiveEventSource[], private readonly scope: EventScope) {
    for (const s of sources) this.unsubscribe.push(s.subscribe((e) => void this.deliver(e)));
  }

  /** Open streams (for tests and the status page). */
  get size(): number {
    return this.streams.size;
  }

  /** Registers a response as a stream: writes the SSE headers and a greeting; returns a closer. */
  open(principal: Principal, res: ServerResponse): () => void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ user: principal.username, jurisdiction: principal.jurisdiction })}\n\n`);
    const stream: Stream = { principal, res };
    this.streams.add(stream);
    return () => {
      this.streams.delete(stream);
      if (!res.writableEnded) res.end();
    };
  }

  /** Sends a comment line to every stream so proxies keep them open; returns the streams for re-checks. */
  heartbeat(): Principal[] {
    for (const s of this.streams) s.res.write(': keep-alive\n\n');
    return [...this.streams].map((s) => s.principal);
  }

  /** Ends every stream of a user (their session ended). */
  closeUser(userId: string): void {
    for (const s of [...this.streams]) {
      if (s.principal.userId === userId) {
        this.streams.delete(s);
        s.res.end();
      }
    }
  }

  private async deliver(e: LiveEvent): Promise<void> {
    const id = ++this.seq;
    const frame = `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
    for (const s of [...this.streams]) {
      if (e.userId !== undefined && e.userId !== s.principal.userId) continue;
      if (e.jurisdictions.length) {
        let ok = false;
        try {
          for (const j of e.jurisdictions) if ((ok = await this.scope(s.principal, j))) break;
        } catch {
          ok = false;
        }
        if (!ok) continue;
      }
      if (!s.res.writableEnded) s.res.write(frame);
    }
  }

  /** Ends every stream and stops listening (server shutdown). */
  close(): void {
    for (const u of this.unsubscribe) u();
    for (const s of this.streams) s.res.end();
    this.streams.clear();
  }
}
