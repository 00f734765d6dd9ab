/**
 * @module Retention: presences older than the configured number of days are purged, on demand and on
 * a schedule. Each purge returns what it removed so the caller can write it to the audit trail.
 */
import type { PresenceStore, PurgeResult } from '../stores/presence/presence-store.ts';

/** What one purge did. */
export interface RetentionReport extends PurgeResult {
  /** Retention applied, in days. */
  days: number;
  /** Presences that ended at or before this UTC instant were removed. */
  cutoff: string;
  /** When the purge ran (UTC ISO). */
  ranAt: string;
  /** `manual` (a command or API call) or `scheduled`. */
  trigger: 'manual' | 'scheduled';
}

/** Settings of the retention service. */
export interface RetentionConfig {
  /** Default number of days to keep (config retentionDays). */
  retentionDays: number;
  /** The clock, for tests and replays of the synthetic city (defaults to the wall clock). */
  now?: () => Date;
}

const DAY = 86_400;

/** Purges old presences. */
export class RetentionService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionReport> | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly config: RetentionConfig,
  ) {}

  /** Removes presences that ended more than `days` (default: the configured retention) days ago. */
  async purge(days = this.config.retentionDays, trigger: RetentionReport['trigger'] = 'manual'): Promise<RetentionReport> {
    if (!Number.isInteger(days) || days < 1) throw new Error(`retention must be a whole number of days ≥ 1 (got ${days})`);
    // Purges do not overlap: a scheduled one that fires during a manual one waits for it.
    const previous = this.running ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      const now = (this.config.now ?? (() => new Date()))();
      const cutoff = Math.floor(now.getTime() / 1000) - days * DAY;
      const result = await this.store.purgeBefore(cutoff);
      return { ...result, days, cutoff: new Date(cutoff * 1000).toISOString(), ranAt: now.toISOString(), trigger };
    });
    this.running = run;
    return run;
  }

  /**
   * Purges every `everyMs` (default: hourly) until `stop()`; each report goes to `onReport` (audit it),
   * each failure to `onError`. The timer does not keep the process alive.
   */
  start(onReport: (r: RetentionReport) => void, onError: (err: unknown) => void, everyMs = 3_600_000): void {
    this.stop();
    const tick = (): void => {
      this.purge(this.config.retentionDays, 'scheduled').then(onReport, onError);
    };
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  /** Stops the schedule. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
