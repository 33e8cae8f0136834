// Runs, trainings and the model registry (docs/web-api.md, "Runs and models").

import { enc, get, post } from './client';

export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

export interface Epoch {
  epoch: number;
  train_loss: number;
  train_accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  learning_rate: number;
  seconds: number;
  samples_per_second: number;
}

export interface RunRow {
  id: number;
  project: string;
  version: number;
  dataset: string;
  model: string;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  epochs_done: number;
  epochs_planned: number | null;
  best_val_accuracy: number | null;
  test_accuracy: number | null;
  seconds: number;
  model_versions: string[];
  params: Record<string, unknown>;
  seed: number;
  error: string | null;
}

export interface Checkpoint {
  epoch: number;
  key: string;
  bytes: number | null;
  best: boolean;
  download: string;
}

export interface RunModelVersion {
  name: string;
  number: number;
  epoch: number;
  aliases: string[];
  metrics: Record<string, unknown>;
  created_at: string;
}

export interface RunDetail extends RunRow {
  spec: Record<string, unknown>;
  code_version: string;
  host: string;
  best_epoch: number | null;
  epochs: Epoch[];
  log: string;
  dataset_version: { project: string; number: number };
  artifacts: { checkpoints: Checkpoint[]; best_checkpoint: { epoch: number; key: string } | null; model_versions: RunModelVersion[] };
}

export interface RunPage {
  runs: RunRow[];
  total: number;
  limit: number;
  offset: number;
  sort: string;
}

export interface RunFilter {
  project?: string;
  model?: string;
  status?: string;
  sort?: string;
  limit?: number;
  offset?: number;
}

export interface Training {
  id: number;
  state: 'starting' | 'queued' | 'running' | 'finished' | 'failed';
  project: string;
  data: string;
  model: string;
  requested_by: string;
  requested_at: string;
  finished_at: string | null;
  run_id: number | null;
  error: string | null;
}

export interface TrainRequest {
  data: string;
  model?: string;
  model_params?: Record<string, unknown>;
  epochs?: number;
  batch_size?: number;
  lr?: number;
  optimizer?: string;
  weight_decay?: number;
  momentum?: number;
  schedule?: string;
  warmup_epochs?: number;
  label_smoothing?: number;
  patience?: number;
  seed?: number;
  augment?: string;
  evaluate_test?: boolean;
}

export interface CompareResult {
  runs: (RunRow & { epochs: Epoch[] })[];
  params: { differing: Record<string, unknown[]>; common: Record<string, unknown> };
}

export interface ModelSummary {
  name: string;
  project: string;
  versions: number;
  latest: number;
  aliases: Record<string, number>;
  updated_at: string;
  latest_metrics: Record<string, unknown> | null;
}

export interface RegistryVersion {
  name: string;
  ref: string;      // "name/N"
  version: number;  // N
  architecture: string;
  parameters: number;
  metrics: Record<string, unknown>;
  description: string;
  created_at: string;
  created_by: string;
  aliases: string[];
  lineage: { run_id: number; epoch: number; project: string; dataset_version: number | null; dataset: string | null };
}

export interface AliasEvent {
  alias: string;
  number: number | null;
  previous: number | null;
  at: string;
  by: string;
  forced: boolean;
  note: string;
}

export interface RegistryModel {
  name: string;
  project: string;
  versions: RegistryVersion[];
  aliases: Record<string, number>;
  alias_history: AliasEvent[];
}

export interface Gate {
  passed: boolean;
  reason: string | null;
  evaluation_id: number | null;
  results: { requirement: string; passed: boolean; actual: number | null }[];
}

function query(f: RunFilter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const runs = {
  list: (f: RunFilter) => get<RunPage>(`/runs${query(f)}`),
  get: (id: number | string, logLines = 200) => get<RunDetail>(`/runs/${enc(String(id))}?log_lines=${logLines}`),
  compare: (ids: number[]) => get<CompareResult>(`/runs/compare?ids=${ids.join(',')}`),
  start: (r: TrainRequest) => post<{ run_id: number | null; training: Training }>('/runs', r),
  trainings: () => get<{ trainings: Training[] }>('/trainings'),
};

export const registry = {
  list: () => get<{ models: ModelSummary[] }>('/models'),
  get: (name: string) => get<RegistryModel>(`/registry/${enc(name)}`),
  gate: (name: string, n: number) => get<Gate>(`/registry/${enc(name)}/versions/${n}/gate`),
  setAlias: (name: string, alias: string, body: { version: number; force?: boolean; reason?: string }) =>
    post<{ forced: boolean; gate: Gate | null }>(`/registry/${enc(name)}/aliases/${enc(alias)}`, body),
};

export function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);
}

export function duration(seconds: number): string {
  if (!seconds) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n: number | null): string {
  if (n === null) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
