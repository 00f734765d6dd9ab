/**
 * @module The HTTP client of the UI: JSON over `/api` with the session cookie, errors carrying the
 * server's message, and the live event stream (SSE) with automatic reconnects.
 */

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly body: unknown) {
    super(message);
    this.name = 'ApiError';
  }
}

function messageOf(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') return b.message;
    if (typeof b.error === 'string') return b.error;
  }
  return `HTTP ${status}`;
}

/** Calls the API; throws ApiError with the server's message on a non-2xx answer. */
export async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const isForm = typeof FormData !== 'undefined' && body instanceof FormData;
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined || isForm ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  if (!res.ok) throw new ApiError(messageOf(parsed, res.status), res.status, parsed);
  return parsed as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>('POST', path, body ?? {});

/** Builds a query string from defined values only. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Uploads with progress (fetch cannot report upload progress; XMLHttpRequest can).
 * Resolves with the parsed JSON answer.
 */
export function upload<T>(path: string, file: File, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body: unknown;
      try { body = JSON.parse(xhr.responseText); } catch { body = xhr.responseText; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(new ApiError(messageOf(body, xhr.status), xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError('network error', 0, undefined));
    xhr.send(file);
  });
}

export interface LiveEvent { type: string; data: unknown }

/** The loop's event names (src/services/events.ts) and the server's own. */
export const LIVE_EVENT_TYPES = [
  'case.created', 'case.classified', 'case.traced', 'case.loop_closed', 'lead.created', 'lead.closed',
  'command.changed', 'feedback.filed', 'jurisdictions.imported', 'ingest.progress',
] as const;

/**
 * Subscribes to the server's event stream. EventSource reconnects by itself; `onState` tells the UI
 * whether it is live. Returns the unsubscribe function.
 */
export function subscribe(path: string, onEvent: (e: LiveEvent) => void, onState?: (live: boolean) => void): () => void {
  const source = new EventSource(path, { withCredentials: true });
  const handle = (type: string) => (msg: MessageEvent<string>): void => {
    let data: unknown = msg.data;
    try { data = JSON.parse(msg.data); } catch { /* plain text event */ }
    onEvent({ type, data });
  };
  source.onmessage = handle('message');
  // The server names each event (`event: command.changed`); EventSource only delivers named events to
  // listeners registered for that name.
  for (const type of LIVE_EVENT_TYPES) source.addEventListener(type, handle(type) as EventListener);
  source.addEventListener('hello', () => onState?.(true));
  source.onopen = () => onState?.(true);
  source.onerror = () => onState?.(false);
  return () => source.close();
}
