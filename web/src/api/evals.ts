// The evaluation explorer's API (docs/web-api.md, "Evaluation explorer").

import { enc, get, post } from './client';

export interface EvalSummary {
  id: number;
  model: string;
  project: string;
  dataset: string;
  split: string;
  created_at: string;
  created_by: string;
  seconds: number;
  items: number;
  mistakes: number;
  accuracy: number;
  macro_f1: number;
  weighted_f1: number;
  log_loss: number;
  ece: number;
  requirements: number;
  passed: boolean;
  label_issues: number | null;
}

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  predicted: number;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  confidence: number;
  accuracy: number;
}

export interface Metrics {
  items: number;
  labels: string[];
  accuracy: number;
  macro_precision: number;
  macro_recall: number;
  macro_f1: number;
  weighted_f1: number;
  log_loss: number;
  ece: number;
  top_k: Record<string, number>;
  per_class: ClassMetrics[];
  confusion: number[][];
  calibration: CalibrationBin[];
}

export interface RequirementResult {
  text: string;
  metric: string;
  label: string;
  op: string;
  value: number;
  actual: number | null;
  passed: boolean;
}

export interface EvalDetail {
  id: number;
  model: string;
  dataset: string;
  split: string;
  created_at: string;
  created_by: string;
  seconds: number;
  metrics: Metrics;
  requirements: RequirementResult[];
  passed: boolean;
  summary: EvalSummary;
  project: string;
  task_type: 'image-classification' | 'text-classification';
  label_colors: Record<string, string>;
}

export interface EvalItem {
  item: string;
  true: string;
  predicted: string;
  confidence: number;
  correct: boolean;
  top: { label: string; probability: number }[];
  media_type: string | null;
  text?: string;
  width?: number;
  height?: number;
}

export interface ItemPage<T> {
  offset: number;
  limit: number;
  total: number;
  items: T[];
}

export interface LabelIssue {
  item: string;
  given: string;
  suggested: string;
  score: number;
  predicted?: string;
  confidence?: number;
  media_type: string | null;
  text?: string;
}

export interface EvalJob {
  id: number;
  model: string;
  data: string;
  split: string;
  label_issues: boolean;
  requested_by: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  stage: string | null;
  error: string | null;
  evaluation_id: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Delta {
  a: number;
  b: number;
  delta: number;
}

export interface CompareItem {
  item: string;
  true: string;
  a: { predicted: string; confidence: number };
  b: { predicted: string; confidence: number };
  media_type: string | null;
  text?: string;
}

export interface Comparison {
  a: { id: number; model: string; dataset: string; split: string; items: number };
  b: { id: number; model: string; dataset: string; split: string; items: number };
  paired_items: number;
  fixed: number;
  broken: number;
  both_right: number;
  both_wrong: number;
  mcnemar: { b: number; c: number; statistic: number; p_value: number; exact: boolean };
  metrics: (Delta & { metric: string; higher_is_better: boolean })[];
  per_class: { label: string; support: number; precision: Delta; recall: Delta; f1: Delta }[];
  offset: number;
  limit: number;
  fixed_items?: CompareItem[];
  broken_items?: CompareItem[];
}

export interface CellQuery {
  true?: string | undefined;
  pred?: string | undefined;
  mistakes?: boolean;
  sort?: 'confidence' | '-confidence';
  offset?: number;
  limit?: number;
}

function query(q: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === false) continue;
    parts.push(`${enc(k)}=${enc(v === true ? '1' : String(v))}`);
  }
  return parts.length ? '?' + parts.join('&') : '';
}

export const evals = {
  list: (filter: { model?: string; project?: string } = {}) =>
    get<{ evaluations: EvalSummary[] }>(`/evaluations${query(filter)}`),
  get: (id: number) => get<EvalDetail>(`/evaluations/${id}`),
  items: (id: number, q: CellQuery, signal?: AbortSignal) =>
    get<ItemPage<EvalItem> & { total: number }>(`/evaluations/${id}/items${query({ ...q })}`, { signal }),
  mistakes: (id: number, offset: number, limit: number) =>
    get<ItemPage<EvalItem>>(`/evaluations/${id}/mistakes${query({ offset, limit })}`),
  labelIssues: (id: number, offset: number, limit: number) =>
    get<ItemPage<LabelIssue> & { computed: boolean }>(`/evaluations/${id}/label-issues${query({ offset, limit })}`),
  start: (body: { model: string; data?: string; split?: string; label_issues?: boolean }) =>
    post<EvalJob>('/evaluations', body),
  jobs: () => get<{ jobs: EvalJob[] }>('/evaluations/jobs'),
  job: (id: number) => get<EvalJob>(`/evaluations/jobs/${id}`),
  review: (id: number, items: string[], comment?: string) =>
    post<{ project: string; sent: string[]; count: number }>(`/evaluations/${id}/review`, comment ? { items, comment } : { items }),
  accept: (id: number, items: { item: string; label: string }[]) =>
    post<{ project: string; count: number }>(`/evaluations/${id}/accept`, { items }),
  compare: (a: number, b: number, q: { kind?: 'fixed' | 'broken'; offset?: number; limit?: number } = {}) =>
    get<Comparison>(`/evaluations/compare${query({ a, b, ...q })}`),
};
