// The shapes of /api/v1 (docs/web-api.md).

export type Role = 'viewer' | 'annotator' | 'reviewer' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'annotator', 'reviewer', 'admin'];

export interface User {
  name: string;
  role: Role;
}

export interface Session {
  user: User;
  csrf_token: string;
  expires_at: string;
}

export interface UserRecord extends User {
  created_at: string;
  created_by: string;
}

export type TaskType = 'image-classification' | 'text-classification';

export interface Label {
  name: string;
  color: string;
  hotkey: string;
}

export interface Progress {
  items: number;
  labeled: number;
  in_review: number;
  annotations: number;
  today: number;
  versions: number;
}

export interface Project {
  name: string;
  task_type: TaskType;
  labels: Label[];
  guidelines: string;
  overlap: number;
  /** Production inputs predicted below this top probability come back for labeling; null = off. */
  collect_below: number | null;
  /** Per mille of finished items sent to review at random. */
  review_sample_permille: number;
  created_at: string;
  created_by: string;
  progress: Progress;
}

export interface AnnotatorStats {
  user: string;
  labels: number;
  today: number;
}

export interface ProjectStats {
  per_label: Record<string, number>;
  per_annotator: AnnotatorStats[];
  per_split: Record<string, unknown>;
}

export interface ProjectDetail extends Project {
  stats: ProjectStats;
}

export interface LabelSpec {
  name: string;
  color?: string;
  hotkey?: string;
}

export interface NewProject {
  name: string;
  task_type: TaskType;
  labels: LabelSpec[];
  guidelines?: string;
  overlap?: number;
}

export interface ProjectPatch {
  guidelines?: string;
  overlap?: number;
  labels?: LabelSpec[];
  collect_below?: number | null;
  review_sample_permille?: number;
}

export interface ImportResult {
  added: number;
  present: number;
  relabeled: number;
  duplicates: number;
  records: number;
}

export interface Suggestion {
  label: string;
  confidence: number;
  model: string;
}

export interface QueueItem {
  item_id: string;
  media_type: string;
  text?: string;
  width?: number;
  height?: number;
  suggestion: Suggestion | null;
  lock_expires_at: string;
}

export interface QueueResponse {
  items: QueueItem[];
  remaining: number;
  order: 'random' | 'uncertainty';
}

export interface AnnotationRequest {
  item_id: string;
  label: string;
  request_id: string;
}

export interface AnnotationResult {
  id: number;
  item_id: string;
  label: string;
  request_id: string;
  created_at: string;
  duplicate: boolean;
}

export interface HistoryEntry {
  id: number;
  item_id: string;
  label: string;
  created_at: string;
  withdrawn: boolean;
}

export interface ReviewAnnotation {
  user: string;
  label: string;
  created_at: string;
}

export interface ReviewFlag {
  user: string;
  comment: string;
  created_at: string;
}

export interface ReviewItem {
  item_id: string;
  media_type: string;
  text?: string;
  reasons: string[];
  annotations: ReviewAnnotation[];
  flags: ReviewFlag[];
  suggestion: Suggestion | null;
}

export interface ReviewResponse {
  items: ReviewItem[];
  total: number;
}

export interface AgreementPair {
  a: string;
  b: string;
  items: number;
  percent_agreement: number | null;
  cohen_kappa: number | null;
}

export interface AgreementAnnotator {
  user: string;
  labels: number;
  agreement_with_final: number | null;
}

export interface Agreement {
  items: number;
  percent_agreement: number | null;
  fleiss_kappa: number | null;
  pairs: AgreementPair[];
  annotators: AgreementAnnotator[];
}

export interface VersionStats {
  splits?: Record<string, number>;
  labels?: Record<string, Record<string, number>>;
}

export interface Version {
  number: number;
  parent: number | null;
  message: string;
  author: string;
  created_at: string;
  items: number;
  tags: string[];
  stats: VersionStats | null;
}

export interface VersionDiff {
  added: number;
  removed: number;
  relabeled: number;
  unchanged: number;
  samples: {
    added: { id: string; label: string; split: string }[];
    removed: { id: string; label: string; split: string }[];
    relabeled: { id: string; from: string; to: string }[];
  };
}

/** A project's retraining, as GET /projects/{p}/suggestions reports it. */
export interface RetrainStatus {
  state: 'idle' | 'committing' | 'training' | 'registering' | 'done' | 'failed';
  version: number | null;
  run_id: number | null;
  model: string | null;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** Model suggestions for a project's open items (active learning). */
export interface SuggestionStatus {
  model: string | null;
  scored: number;
  open: number;
  running: boolean;
  last_error: string;
  retrain: RetrainStatus;
}
