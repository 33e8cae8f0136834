// One function per endpoint of docs/web-api.md.

import { del, enc, get, patch, post, upload } from './client';
import type {
  Agreement,
  AnnotationRequest,
  AnnotationResult,
  HistoryEntry,
  ImportResult,
  NewProject,
  Project,
  ProjectDetail,
  ProjectPatch,
  QueueResponse,
  RetrainStatus,
  ReviewResponse,
  Role,
  Session,
  SuggestionStatus,
  UserRecord,
  Version,
  VersionDiff,
} from './types';

const p = (project: string) => `/projects/${enc(project)}`;

export const auth = {
  login: (name: string, password: string) =>
    post<Session>('/auth/login', { name, password }, { expectUnauthorized: true }),
  me: () => get<Session>('/auth/me', { expectUnauthorized: true }),
  logout: () => post<unknown>('/auth/logout', {}, { expectUnauthorized: true }),
  changePassword: (current: string, next: string) => post<unknown>('/auth/password', { current, new: next }),
};

export const users = {
  list: () => get<{ users: UserRecord[] }>('/users'),
  create: (name: string, role: Role, password: string) => post<UserRecord>('/users', { name, role, password }),
  update: (name: string, change: { role?: Role; password?: string }) => patch<UserRecord>(`/users/${enc(name)}`, change),
  remove: (name: string) => del<unknown>(`/users/${enc(name)}`),
};

export const projects = {
  list: () => get<{ projects: Project[] }>('/projects'),
  get: (name: string, signal?: AbortSignal) => get<ProjectDetail>(p(name), signal ? { signal } : {}),
  create: (spec: NewProject) => post<Project>('/projects', spec),
  update: (name: string, change: ProjectPatch) => patch<Project>(p(name), change),
  importFiles: (name: string, files: File[], onProgress: (f: number) => void) =>
    upload<ImportResult>(`${p(name)}/imports`, files, onProgress),
};

export const labeling = {
  next: (project: string, n: number, exclude: string[]) => {
    const q = new URLSearchParams({ n: String(n) });
    if (exclude.length) q.set('exclude', exclude.join(','));
    return get<QueueResponse>(`${p(project)}/queue/next?${q.toString()}`);
  },
  annotate: (project: string, annotations: AnnotationRequest[]) =>
    post<{ annotations: AnnotationResult[] }>(`${p(project)}/annotations`, { annotations }),
  undo: (project: string, id: number) => post<unknown>(`${p(project)}/annotations/${id}/undo`, {}),
  history: (project: string, limit = 50, before?: number) => {
    const q = new URLSearchParams({ mine: '1', limit: String(limit) });
    if (before !== undefined) q.set('before', String(before));
    return get<{ annotations: HistoryEntry[] }>(`${p(project)}/annotations?${q.toString()}`);
  },
  skip: (project: string, itemId: string) => post<unknown>(`${p(project)}/skips`, { item_id: itemId }),
  flag: (project: string, itemId: string, comment: string) =>
    post<unknown>(`${p(project)}/flags`, { item_id: itemId, comment }),
};

export const review = {
  list: (project: string, limit = 50) => get<ReviewResponse>(`${p(project)}/review?limit=${limit}`),
  decide: (project: string, itemId: string, label: string) =>
    post<unknown>(`${p(project)}/review/${enc(itemId)}`, { label }),
  agreement: (project: string) => get<Agreement>(`${p(project)}/agreement`),
};

export const versions = {
  list: (project: string) => get<{ versions: Version[] }>(`${p(project)}/versions`),
  commit: (project: string, message: string) => post<Version>(`${p(project)}/versions`, { message }),
  diff: (project: string, a: number, b: number) => get<VersionDiff>(`${p(project)}/versions/${a}/diff/${b}`),
};

export const modelLoop = {
  status: (project: string) => get<SuggestionStatus>(`${p(project)}/suggestions`),
  retrain: (project: string, epochs?: number) =>
    post<RetrainStatus>(`${p(project)}/retrain`, epochs === undefined ? {} : { epochs }),
};
