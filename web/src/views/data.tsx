/** @module Data: upload a file to ingest, with upload progress, the summary and the rejects file. */
import { useEffect, useState } from 'react';
import { subscribe } from '../api/client.ts';
import { useTranslation } from 'react-i18next';
import { api, type IngestSummary } from '../api/endpoints.ts';

export function DataView(): React.JSX.Element {
  const { t } = useTranslation();
  const [file, setFile] = useState<File | undefined>(undefined);
  const [progress, setProgress] = useState<number | undefined>(undefined);
  const [summary, setSummary] = useState<IngestSummary | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  // The server reports its own progress (parse, store, index) as events to the uploader only.
  const [phase, setPhase] = useState<{ phase: string; done: number; total: number } | undefined>(undefined);
  useEffect(() => subscribe('/api/events', (e) => {
    if (e.type !== 'ingest.progress' || !e.data || typeof e.data !== 'object') return;
    const d = e.data as { phase?: unknown; done?: unknown; total?: unknown };
    setPhase({ phase: String(d.phase ?? ''), done: Number(d.done ?? 0), total: Number(d.total ?? 0) });
  }), []);

  const start = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    if (!file) return;
    setError(undefined);
    setSummary(undefined);
    setProgress(0);
    setPhase(undefined);
    try {
      setSummary(await api.ingest(file, setProgress));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setProgress(undefined);
    }
  };

  return (
    <section aria-labelledby="data-title">
      <div className="view-head"><h1 id="data-title">{t('data.title')}</h1></div>
      <form className="panel" onSubmit={(e) => void start(e)}>
        <h2>{t('data.upload')}</h2>
        <label>{t('data.file')}<input type="file" accept=".csv,.jsonl,.ndjson,.json,.parquet" onChange={(e) => setFile(e.target.files?.[0])} required data-testid="ingest-file" /></label>
        <button type="submit" className="primary" disabled={!file || progress !== undefined}>{t('data.start')}</button>
        {progress !== undefined ? (
          <div role="status">
            <progress max={1} value={progress} aria-label={t('data.progress', { percent: Math.round(progress * 100) })} />
            <span>{progress < 1 ? t('data.progress', { percent: Math.round(progress * 100) }) : t('data.processing')}</span>
            {progress >= 1 && phase ? <span className="muted"> · {phase.phase} {phase.done.toLocaleString()}{phase.total ? ` / ${phase.total.toLocaleString()}` : ''}</span> : null}
          </div>
        ) : null}
        {error ? <p role="alert" className="error">{error}</p> : null}
      </form>
      {summary ? (
        <div className="panel" data-testid="ingest-summary">
          <h2>{t('data.done')}</h2>
          <dl className="facts">
            <div><dt>{t('data.kind')}</dt><dd>{summary.kind} ({summary.format})</dd></div>
            <div><dt>{t('data.read')}</dt><dd data-testid="ingest-read">{summary.rowsRead}</dd></div>
            <div><dt>{t('data.accepted')}</dt><dd>{summary.accepted}</dd></div>
            <div><dt>{t('data.rejected')}</dt><dd>{summary.rejected}</dd></div>
            <div><dt>{t('data.duplicates')}</dt><dd>{summary.duplicates}</dd></div>
            <div><dt>{t('data.time')}</dt><dd>{summary.seconds.toFixed(1)} s</dd></div>
          </dl>
          {summary.rejects ? <a href={summary.rejects} download className="button" data-testid="rejects-link">{t('data.rejects')}</a> : null}
        </div>
      ) : null}
    </section>
  );
}
