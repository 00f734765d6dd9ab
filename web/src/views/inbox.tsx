/**
 * @module The precinct inbox: the unit's commands with a live deadline countdown, overdue ones first
 * and highlighted; accept, transfer with a reason, and file feedback — laid out for a phone as well.
 */
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FEEDBACK_OUTCOMES } from '../../../src/domain/feedback.ts';
import { api, type CommandOut } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { LiveBadge, useLive } from '../components/live.tsx';
import { jurisdictionNamer, useBasemap } from '../components/geo-data.ts';
import { formatTime, splitDuration } from '../components/format.ts';
import { href, hrefWith } from '../components/router.ts';

/** States in which a command still needs the unit's work. */
const OPEN_STATES = ['pushed', 'accepted', 'in_progress', 'feedback'];

function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => { const id = setInterval(() => setNow(Date.now()), ms); return () => clearInterval(id); }, [ms]);
  return now;
}

function Countdown({ deadline, now }: { deadline: string; now: number }): React.JSX.Element {
  const { t } = useTranslation();
  const left = Date.parse(deadline) - now;
  const { d, h, m } = splitDuration(left);
  const text = d ? t('time.days', { d, h }) : h ? t('time.hours', { h, m }) : t('time.minutes', { count: m });
  return left < 0
    ? <strong className="overdue" data-testid="countdown">{t('inbox.overdueBy', { time: text })}</strong>
    : <span className={left < 30 * 60_000 ? 'soon' : ''} data-testid="countdown">{t('inbox.remaining', { time: text })}</span>;
}

function FeedbackForm({ command, onDone, onCancel }: { command: CommandOut; onDone: () => void; onCancel: () => void }): React.JSX.Element {
  const { t } = useTranslation();
  const [outcome, setOutcome] = useState<string>('');
  const [temperature, setTemperature] = useState('');
  const [notes, setNotes] = useState('');
  const [named, setNamed] = useState('');
  const [corrected, setCorrected] = useState('');
  // A positive test becomes a case anchored on its sampling date; today unless the officer says otherwise.
  const [sampled, setSampled] = useState(() => new Date().toISOString().slice(0, 10));
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // Feedback is filed on a command in progress; an accepted one is started first.
      if (command.state === 'accepted') await api.act(command.id, 'start');
      await api.feedback(command.id, {
        outcome,
        ...(temperature ? { temperature: Number(temperature) } : {}),
        ...(notes.trim() ? { notes: notes.trim() } : {}),
        namedContacts: lines(named),
        correctedIds: lines(corrected),
        ...(outcome === 'tested_positive' && sampled ? { sampled } : {}),
      });
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="feedback-form" onSubmit={(e) => void submit(e)} aria-label={t('feedback.title')} data-testid="feedback-form">
      <fieldset>
        <legend>{t('feedback.outcome')}</legend>
        {FEEDBACK_OUTCOMES.map((o) => (
          <label key={o} className="radio"><input type="radio" name="outcome" value={o} checked={outcome === o} onChange={() => setOutcome(o)} required />{t(`feedback.${o}`)}</label>
        ))}
      </fieldset>
      {outcome === 'tested_positive' ? <label>{t('feedback.sampled')}<input type="date" value={sampled} onChange={(e) => setSampled(e.target.value)} required /></label> : null}
      <label>{t('feedback.temperature')}<input type="number" inputMode="decimal" step="0.1" min="30" max="45" value={temperature} onChange={(e) => setTemperature(e.target.value)} /></label>
      <label>{t('feedback.notes')}<textarea rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} /></label>
      <label>{t('feedback.namedContacts')}<textarea rows={2} value={named} onChange={(e) => setNamed(e.target.value)} /></label>
      {outcome === 'identity_mismatch' ? <label>{t('feedback.correctedIds')}<textarea rows={2} value={corrected} onChange={(e) => setCorrected(e.target.value)} required /></label> : null}
      {error ? <p role="alert" className="error">{error}</p> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || !outcome}>{t('feedback.submit')}</button>
        <button type="button" onClick={onCancel}>{t('inbox.cancel')}</button>
      </div>
    </form>
  );
}

function TransferForm({ command, onDone, onCancel }: { command: CommandOut; onDone: () => void; onCancel: () => void }): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const units = useAsync(() => api.jurisdictions(), []);
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const options = (units.value ?? []).filter((u) => u.code !== command.jurisdiction && (u.level === 'precinct' || u.level === 'district'));
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    try { await api.transfer(command.id, to, reason); onDone(); } catch (err) { setError(err instanceof Error ? err.message : String(err)); }
  };
  return (
    <form className="transfer-form" onSubmit={(e) => void submit(e)} aria-label={t('inbox.transfer')}>
      <label>{t('inbox.transferTo')}
        {/* The list offers the units this user can see; another unit's code can be typed. */}
        <input list={`units-${command.id}`} value={to} onChange={(e) => setTo(e.target.value.trim())} required />
        <datalist id={`units-${command.id}`}>
          {options.map((u) => <option key={u.code} value={u.code}>{i18n.language.startsWith('zh') ? u.name : u.nameEn ?? u.name}</option>)}
        </datalist>
      </label>
      <label>{t('inbox.reason')}<input value={reason} onChange={(e) => setReason(e.target.value)} required /></label>
      {error ? <p role="alert" className="error">{error}</p> : null}
      <div className="actions">
        <button type="submit" className="primary">{t('inbox.send')}</button>
        <button type="button" onClick={onCancel}>{t('inbox.cancel')}</button>
      </div>
    </form>
  );
}

/** Whether a command is past its deadline and not closed (the server's flag, or the clock says so). */
export function isOverdueAt(c: Pick<CommandOut, 'state' | 'deadline' | 'overdue'>, now: number): boolean {
  return c.state !== 'closed' && (c.overdue || Date.parse(c.deadline) < now);
}

/** Overdue commands first, then by deadline (soonest first). */
export function sortInbox<C extends Pick<CommandOut, 'state' | 'deadline' | 'overdue' | 'id'>>(commands: readonly C[], now: number): C[] {
  return [...commands].sort((a, b) => Number(isOverdueAt(b, now)) - Number(isOverdueAt(a, now)) || a.deadline.localeCompare(b.deadline) || a.id.localeCompare(b.id));
}

/** A command's transitions: who did what, when, and why (transfers and escalations carry a reason). */
function CommandHistory({ id }: { id: string }): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const history = useAsync(() => api.commandHistory(id), [id]);
  if (history.error) return <p role="alert" className="error">{history.error.message}</p>;
  if (!history.value) return <p className="muted">{t('app.loading')}</p>;
  return (
    <ol className="history" aria-label={t('inbox.history')}>
      {history.value.events.map((e) => (
        <li key={e.seq}>
          <time dateTime={e.at}>{formatTime(e.at, i18n.language)}</time> · {t(`event.${e.kind}`, { defaultValue: e.kind })} · {t(`role.${e.actorRole}`, { defaultValue: e.actorRole })}
          {e.reason ? <> · <em>{e.reason}</em></> : null}
        </li>
      ))}
    </ol>
  );
}

export function InboxView(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const [showAll, setShowAll] = useState(false);
  const [overdueOnly, setOverdueOnly] = useState(false);
  const commands = useAsync(() => api.commands({ state: showAll ? undefined : OPEN_STATES, overdue: overdueOnly ? true : undefined, limit: 500 }), [showAll, overdueOnly]);
  const live = useLive(commands.reload, (type) => type.startsWith('command') || type.startsWith('lead') || type.startsWith('feedback'));
  const now = useNow(30_000);
  const nameOf = jurisdictionNamer(useBasemap(), i18n.language);
  const [open, setOpen] = useState<{ id: string; form: 'feedback' | 'transfer' | 'history' } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const sorted = useMemo(() => sortInbox(commands.value?.commands ?? [], now), [commands.value, now]);

  const act = async (id: string, action: 'accept' | 'start'): Promise<void> => {
    setError(undefined);
    try { await api.act(id, action); commands.reload(); } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  };
  const done = (message: string): void => { setOpen(undefined); setNotice(message); commands.reload(); };

  return (
    <section aria-labelledby="inbox-title" className="inbox">
      <div className="view-head">
        <h1 id="inbox-title">{t('inbox.title')}</h1>
        <LiveBadge live={live} labels={{ live: t('app.live'), offline: t('app.offline') }} />
        <label className="toggle"><input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} />{t('inbox.showAll')}</label>
        <label className="toggle"><input type="checkbox" checked={overdueOnly} onChange={(e) => setOverdueOnly(e.target.checked)} />{t('inbox.overdueOnly')}</label>
      </div>
      {notice ? <p role="status" className="ok">{notice}</p> : null}
      {error ? <p role="alert" className="error">{error}</p> : null}
      {commands.error ? <p role="alert" className="error">{t('app.error', { message: commands.error.message })}</p> : null}
      {sorted.length === 0 && !commands.loading ? <p className="muted">{t('inbox.empty')}</p> : null}
      <ul className="cards" data-testid="inbox-list">
        {sorted.map((c) => {
          const overdue = isOverdueAt(c, now);
          return (
            <li key={c.id} className={overdue ? 'card overdue-card' : 'card'} data-testid="command" data-state={c.state}>
              <div className="card-head">
                <strong>{t(`command.${c.type}`)}</strong>
                <span className={`tag prio-${c.priority}`}>{t(`command.${c.priority}`)}</span>
                <span className="tag">{t(`status.${c.state}`)}</span>
              </div>
              <div className="card-body">
                <span>{t('inbox.subject')}: <a href={hrefWith('person', [c.personRef], { case: c.caseId })}>{t('inbox.personLink')}</a> · {t('dashboard.case')} <a href={href('case', c.caseId)}>{c.caseId}</a></span>
                <span>{nameOf(c.jurisdiction)}</span>
                <span>{t('inbox.due', { time: formatTime(c.deadline, i18n.language) })}</span>
                {c.state !== 'closed' ? <Countdown deadline={c.deadline} now={now} /> : null}
              </div>
              <div className="actions">
                {c.state === 'pushed' ? <button type="button" className="primary" onClick={() => void act(c.id, 'accept')}>{t('inbox.accept')}</button> : null}
                {c.state === 'accepted' || c.state === 'in_progress' ? <button type="button" className="primary" onClick={() => setOpen({ id: c.id, form: 'feedback' })}>{t('inbox.feedback')}</button> : null}
                {c.state === 'pushed' || c.state === 'accepted' || c.state === 'in_progress' ? <button type="button" onClick={() => setOpen({ id: c.id, form: 'transfer' })}>{t('inbox.transfer')}</button> : null}
                <button type="button" aria-expanded={open?.id === c.id && open.form === 'history'} onClick={() => setOpen(open?.id === c.id && open.form === 'history' ? undefined : { id: c.id, form: 'history' })}>{t('inbox.history')}</button>
              </div>
              {open && open.id === c.id && open.form === 'history' ? <CommandHistory id={c.id} /> : null}
              {open && open.id === c.id && open.form === 'feedback' ? <FeedbackForm command={c} onDone={() => done(t('feedback.sent'))} onCancel={() => setOpen(undefined)} /> : null}
              {open && open.id === c.id && open.form === 'transfer' ? <TransferForm command={c} onDone={() => done(t('status.transferred'))} onCancel={() => setOpen(undefined)} /> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
