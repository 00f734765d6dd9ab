/**
 * @module `cordon trace`: a case's trajectory and contacts, as a readable table or as JSON.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../config.ts';
import { maskIdentifier } from '../../domain/auth.ts';
import { parseIdKey } from '../../domain/formats.ts';
import { AuditService, checkPurpose } from '../../services/audit.service.ts';
import { FileLinkDecisionLog, IdentityService } from '../../services/identity.service.ts';
import { openPresenceStore } from '../../stores/presence/open-presence-store.ts';
import type { PresenceStore } from '../../stores/presence/presence-store.ts';
import { openRecordsStore } from '../../stores/records/open-records-store.ts';
import { SqlSecurityStore } from '../../stores/records/sql-security-store.ts';
import { PresenceTraceService } from '../../services/trace.service.ts';
import type { TracePresence, TraceRequest, TraceResult } from '../../trace/types.ts';

interface TraceFlags {
  id: string;
  onset?: string;
  sampled?: string;
  isolated?: string;
  asymptomatic?: boolean;
  rules?: string;
  degree?: string;
  json?: boolean;
  purpose?: string;
  case?: string;
  index?: boolean;
  now?: string;
}

async function openStore(url: string): Promise<PresenceStore> {
  if (url.startsWith('duckdb:')) {
    const file = url.slice('duckdb:'.length);
    // Opening would create an empty store; a trace over nothing is a mistake worth saying.
    if (!fs.existsSync(file)) throw new Error(`no presence store at ${file}: ingest data first (cordon ingest FILE…) or set --data / CORDON_DATA`);
  }
  return openPresenceStore(url, { owner: 'cordon trace' });
}

/**
 * Writes the audit row of a trajectory and contact read from the command line (no purpose, no read).
 * The actor is the operating-system account, with the role `cli`.
 */
async function auditRead(config: Config, purpose: string | undefined, caseId: string | undefined, subject: string, asJson: boolean): Promise<void> {
  let checked: { purpose: string; caseId: string | null };
  try {
    checked = checkPurpose({ purpose, caseId: caseId ?? null }, { caseRequired: false });
  } catch (err) {
    // The service names the field (`purpose: …`); on the command line it is the flag.
    throw new Error(`--${(err as Error).message}`, { cause: err });
  }
  const records = await openRecordsStore(config.databaseUrl);
  try {
    await records.init();
    const security = new SqlSecurityStore(records.connection);
    await security.init();
    const user = os.userInfo().username;
    await new AuditService(security).record(
      { userId: `cli:${user}`, username: `cli:${user}`, role: 'cli', jurisdiction: '*' },
      asJson ? 'trace.export' : 'trace.read',
      'ok',
      { caseId: checked.caseId, purpose: checked.purpose, subject },
    );
  } finally {
    await records.close();
  }
}

function localTime(iso: string, timeZone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return f.format(new Date(iso));
}

function table(rows: string[][]): string {
  const width = (s: string): number => [...s].reduce((w, ch) => w + (/[\u1100-\uFFFF]/.test(ch) ? 2 : 1), 0);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => width(r[c] ?? ''))));
  return rows.map((r) => r.map((cell, c) => cell + ' '.repeat(widths[c] - width(cell))).join('  ').trimEnd()).join('\n');
}

function where(p: TracePresence): string {
  return p.sub ? `${p.place} ${p.sub}` : p.place;
}

/** The readable form of a result. */
export function formatTrace(r: TraceResult, timeZone: string): string {
  const t = (iso: string): string => localTime(iso, timeZone);
  const out: string[] = [];
  out.push(`Trace of ${r.person.key}  (${r.person.ids.join(', ')})`);
  out.push(`Window ${t(r.window.from)} → ${t(r.window.to)} (${timeZone}; ${r.window.lookbackDays} days before ${r.window.anchor}, until ${r.window.until})  rules ${r.rules.name} ${r.rules.version}`);
  out.push('');
  out.push(`Trajectory: ${r.trajectory.length} presences`);
  if (r.trajectory.length) {
    out.push(table([['from', 'to', 'place', 'records', 'note'], ...r.trajectory.map((p) => [
      t(p.start), t(p.end), where(p), String(p.records), [p.dateOnly ? 'date only' : '', p.pointEvent ? 'point event' : ''].filter(Boolean).join(', '),
    ])]));
  }
  out.push('');
  const s = r.summary;
  out.push(`Contacts: ${r.contacts.length} (close ${s.close}, secondary ${s.secondary}, companion ${s.companion}, general ${s.general}) in ${s.elapsedMs} ms`);
  if (r.contacts.length) {
    out.push(table([['deg', 'category', 'person', 'ids', 'via', 'first exposure', 'risk', 'why'], ...r.contacts.map((c) => [
      String(c.degree), c.category, c.key, String(c.ids.length), c.via ?? '', t(c.firstExposure), String(c.risk.score),
      c.evidence[0] ? `${where(c.evidence[0].contact)}: ${c.evidence[0].why}${c.evidence.length > 1 ? ` (+${c.evidence.length - 1})` : ''}` : '',
    ])]));
  }
  return out.join('\n');
}

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description("a case's trajectory and contacts by the contact rules (close, secondary, companion, general)")
    .requiredOption('--id <KIND:VALUE>', 'the case, e.g. phone:13800000000 or id_card:…')
    .option('--onset <DATE>', 'symptom onset, YYYY-MM-DD')
    .option('--sampled <DATE>', 'sampling date, YYYY-MM-DD (the anchor for an asymptomatic case)')
    .option('--asymptomatic', 'anchor the lookback on --sampled')
    .option('--isolated <TIME>', 'when the case was isolated: YYYY-MM-DD or ISO 8601 time (default now)')
    .option('--rules <NAME>', 'rule set: v8, v9 or a rule set file (.json)', 'v9')
    .option('--degree <N>', '1: direct contacts; 2: also secondary contacts', '2')
    .option('--json', 'print the result as JSON')
    .option('--purpose <TEXT>', 'why this trace is run (required; recorded in the audit trail)')
    .option('--case <ID>', 'the case record this trace belongs to (recorded in the audit trail)')
    .option('--index', 'build the in-memory index first instead of asking the store for each read')
    .option('--now <TIME>', 'treat this ISO 8601 time as now (reproducible runs)')
    .action(async (flags: TraceFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<{ data?: string }>();
      const config = loadConfig({ data: global.data });
      if (flags.degree !== '1' && flags.degree !== '2') throw new Error(`--degree "${flags.degree}" must be 1 or 2`);
      let now: number | undefined;
      if (flags.now !== undefined) {
        now = Date.parse(flags.now);
        if (!Number.isFinite(now)) throw new Error(`--now "${flags.now}" is not an ISO 8601 time`);
      }
      const req: TraceRequest = {
        id: flags.id, onset: flags.onset, sampled: flags.sampled, isolated: flags.isolated, asymptomatic: flags.asymptomatic,
        rules: flags.rules, degree: flags.degree === '1' ? 1 : 2, now,
      };
      // Parse the identifier first so a typo fails before anything is audited or opened.
      const subject = (() => {
        const { kind, value } = parseIdKey(flags.id);
        return `${kind}:${maskIdentifier(kind, value)}`;
      })();
      await auditRead(config, flags.purpose, flags.case, subject, Boolean(flags.json));
      const store = await openStore(config.presenceUrl);
      try {
        const progress = process.stderr.isTTY && !flags.json
          ? (done: number, total: number | undefined, phase: string): void => {
            process.stderr.write(`\rindex: ${phase} ${done.toLocaleString('en')}${total ? ` / ${total.toLocaleString('en')}` : ''}   `);
          }
          : undefined;
        const identity = new IdentityService(store, new FileLinkDecisionLog(path.join(config.dataDir, 'identity-decisions.jsonl')));
        const service = await PresenceTraceService.start({ store, identity, timeZone: config.timeZone, mode: flags.index ? 'index' : 'store', onProgress: progress });
        if (progress) process.stderr.write('\n');
        const result = await service.trace(req);
        process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : formatTrace(result, config.timeZone) + '\n');
      } finally {
        await store.close();
      }
    });
}
