// The HTTP client of /api/v1: JSON in and out, the session cookie, the CSRF
// token on every request that is not GET/HEAD, the server's error messages.

import type { Session } from './types';

export const API = '/api/v1';

// An error answer of the API ({"error": {"code", "message"}}), or a request
// that got no answer (status 0, code "network").
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  // Worth sending again unchanged: no answer, rate limited, or a server fault.
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 408 || this.status >= 500;
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

let csrfToken = '';
let unauthorizedHandler: ((code: string) => void) | null = null;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

// Called on every 401 (except from login and session checks): the app
// clears its session and shows the login page.
export function onUnauthorized(handler: (code: string) => void): void {
  unauthorizedHandler = handler;
}

export interface RequestOptions {
  signal?: AbortSignal;
  // A 401 is the answer the caller expects (login, the session check): no redirect.
  expectUnauthorized?: boolean;
}

function retryAfter(res: Response | XMLHttpRequest): number | null {
  const v = res instanceof Response ? res.headers.get('Retry-After') : res.getResponseHeader('Retry-After');
  if (v === null) return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function parseError(status: number, statusText: string, text: string, after: number | null): ApiError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error && typeof body.error.message === 'string') {
      return new ApiError(status, body.error.code ?? 'unknown', body.error.message, after);
    }
  } catch {
    // Not JSON: a proxy's page or an empty body; described below.
  }
  const detail = text.trim().slice(0, 200);
  return new ApiError(status, 'http_' + status, `HTTP ${status} ${statusText}${detail ? ': ' + detail : ''}`, after);
}

function mutating(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

async function send(method: string, path: string, body: unknown, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (mutating(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  try {
    return await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
      signal: options.signal ?? null,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server did not answer; check the connection.');
  }
}

// Fetches the session's CSRF token again (another tab may have logged in anew).
async function refreshCsrf(): Promise<boolean> {
  try {
    const res = await send('GET', '/auth/me', undefined, {});
    if (!res.ok) return false;
    const s = (await res.json()) as Session;
    csrfToken = s.csrf_token;
    return true;
  } catch {
    return false;
  }
}

async function fail(res: Response, options: RequestOptions): Promise<ApiError> {
  const err = parseError(res.status, res.statusText, await res.text().catch(() => ''), retryAfter(res));
  if (res.status === 401 && !options.expectUnauthorized) unauthorizedHandler?.(err.code);
  return err;
}

// Sends one request; resolves with the parsed JSON body, rejects with ApiError.
export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, body, options);
  if (res.status === 403 && mutating(method)) {
    const err = await fail(res, options);
    if (err.code !== 'csrf_failed' || !(await refreshCsrf())) throw err;
    res = await send(method, path, body, options);
  }
  if (!res.ok) throw await fail(res, options);
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'bad_response', `The server sent something that is not JSON (HTTP ${res.status}).`);
  }
}

export const get = <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options);
export const post = <T>(path: string, body?: unknown, options?: RequestOptions) =>
  request<T>('POST', path, body ?? {}, options);
export const patch = <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PATCH', path, body, options);
export const del = <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options);

// Uploads files as multipart/form-data, each as a `file` part, reporting
// progress (0..1) as the bytes go out. XMLHttpRequest because fetch reports
// no upload progress.
export function upload<T>(path: string, files: File[], onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  const attempt = () =>
    new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', API + path);
      xhr.setRequestHeader('Accept', 'application/json');
      if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable && ev.total > 0) onProgress(ev.loaded / ev.total);
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload failed: the server did not answer.'));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as T);
          } catch {
            reject(new ApiError(xhr.status, 'bad_response', 'The server sent something that is not JSON.'));
          }
          return;
        }
        const err = parseError(xhr.status, xhr.statusText, xhr.responseText, retryAfter(xhr));
        if (xhr.status === 401) unauthorizedHandler?.(err.code);
        reject(err);
      };
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  return attempt().catch(async (e: unknown) => {
    if (e instanceof ApiError && e.code === 'csrf_failed' && (await refreshCsrf())) return attempt();
    throw e;
  });
}

export const enc = encodeURIComponent;

export function contentUrl(project: string, itemId: string): string {
  return `${API}/projects/${enc(project)}/items/${enc(itemId)}/content`;
}
