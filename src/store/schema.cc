#include "store/schema.h"

#include <regex>

namespace fsml {

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration> migrations = {
      {1, "projects, labels, items, annotations, imports, dataset versions", R"sql(
CREATE TABLE projects (
  id {id},
  name TEXT NOT NULL UNIQUE,
  task_type TEXT NOT NULL,
  guidelines TEXT NOT NULL DEFAULT '',
  split_salt TEXT NOT NULL,
  train_permille INTEGER NOT NULL,
  val_permille INTEGER NOT NULL,
  test_permille INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE labels (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE TABLE items (
  id TEXT NOT NULL PRIMARY KEY,
  media_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  channels INTEGER
){without_rowid};
CREATE TABLE imports (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  items_added INTEGER NOT NULL,
  items_present INTEGER NOT NULL,
  labels_added INTEGER NOT NULL
);
CREATE TABLE annotations (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  label_id INTEGER NOT NULL REFERENCES labels(id),
  origin TEXT NOT NULL CHECK (origin IN ('human', 'model', 'import')),
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  import_id INTEGER REFERENCES imports(id)
);
CREATE INDEX annotations_by_item ON annotations (project_id, item_id);
CREATE INDEX annotations_by_label ON annotations (label_id);
CREATE TABLE project_items (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  split INTEGER NOT NULL CHECK (split IN (0, 1, 2)),
  source TEXT NOT NULL,
  meta TEXT NOT NULL,
  added_at TEXT NOT NULL,
  import_id INTEGER REFERENCES imports(id),
  label_id INTEGER REFERENCES labels(id),
  annotation_id INTEGER REFERENCES annotations(id),
  PRIMARY KEY (project_id, item_id)
){without_rowid};
CREATE TABLE dataset_versions (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  number INTEGER NOT NULL,
  parent_number INTEGER,
  manifest_key TEXT NOT NULL,
  message TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  item_count INTEGER NOT NULL,
  stats TEXT NOT NULL,
  UNIQUE (project_id, number)
);
CREATE TABLE version_tags (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  number INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (project_id, name),
  FOREIGN KEY (project_id, number) REFERENCES dataset_versions(project_id, number)
);
)sql"},
      {2, "training runs and their per-epoch metrics", R"sql(
CREATE TABLE runs (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  version_number INTEGER NOT NULL,
  model TEXT NOT NULL,
  spec TEXT NOT NULL,
  params TEXT NOT NULL,
  seed INTEGER NOT NULL,
  code_version TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  started_at TEXT NOT NULL,
  ended_at TEXT,
  heartbeat_at TEXT NOT NULL,
  error TEXT,
  resumed_from INTEGER REFERENCES runs(id),
  checkpoint_key TEXT,
  checkpoint_epoch INTEGER,
  best_epoch INTEGER,
  best_checkpoint_key TEXT,
  test_metrics TEXT,
  log TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (project_id, version_number) REFERENCES dataset_versions(project_id, number)
);
CREATE INDEX runs_by_project ON runs (project_id, id);
CREATE TABLE run_epochs (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  epoch INTEGER NOT NULL,
  train_loss REAL NOT NULL,
  train_accuracy REAL NOT NULL,
  val_loss REAL,
  val_accuracy REAL,
  learning_rate REAL NOT NULL,
  seconds REAL NOT NULL,
  samples_per_second REAL NOT NULL,
  checkpoint_key TEXT,
  PRIMARY KEY (run_id, epoch)
);
)sql"},
      {3, "model registry, aliases, requirements and evaluations", R"sql(
CREATE TABLE models (
  id {id},
  name TEXT NOT NULL UNIQUE,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE model_versions (
  model_id INTEGER NOT NULL REFERENCES models(id),
  number INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  epoch INTEGER NOT NULL,
  weights_key TEXT NOT NULL,
  spec_key TEXT NOT NULL,
  architecture TEXT NOT NULL,
  parameters INTEGER NOT NULL,
  weights_bytes INTEGER NOT NULL,
  metrics TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (model_id, number)
);
CREATE TABLE model_aliases (
  model_id INTEGER NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL,
  number INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, number) REFERENCES model_versions(model_id, number)
);
CREATE TABLE model_alias_history (
  id {id},
  model_id INTEGER NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL,
  number INTEGER,
  previous INTEGER,
  at TEXT NOT NULL,
  by_user TEXT NOT NULL,
  forced INTEGER NOT NULL,
  note TEXT NOT NULL
);
CREATE TABLE requirements (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (project_id, position)
);
CREATE TABLE evaluations (
  id {id},
  model_id INTEGER NOT NULL,
  model_number INTEGER NOT NULL,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  version_number INTEGER NOT NULL,
  split TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  seconds REAL NOT NULL,
  metrics TEXT NOT NULL,
  predictions_key TEXT NOT NULL,
  label_issues TEXT,
  FOREIGN KEY (model_id, model_number) REFERENCES model_versions(model_id, number),
  FOREIGN KEY (project_id, version_number) REFERENCES dataset_versions(project_id, number)
);
CREATE INDEX evaluations_by_model ON evaluations (model_id, model_number, id);
)sql"},
      {4, "API tokens, jobs and the embedded job queue", R"sql(
CREATE TABLE api_tokens (
  id {id},
  name TEXT NOT NULL UNIQUE,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  last_used_at TEXT
);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  model_ref TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  idempotency_key TEXT UNIQUE,
  message TEXT NOT NULL,
  published INTEGER NOT NULL,
  inputs INTEGER NOT NULL,
  model TEXT,
  results TEXT,
  error TEXT,
  worker TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  token_name TEXT NOT NULL
){without_rowid};
CREATE INDEX jobs_by_state ON jobs (state, created_at);
CREATE INDEX jobs_unpublished ON jobs (published, created_at);
CREATE TABLE queue_messages (
  id {id},
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  deliveries INTEGER NOT NULL,
  visible_at_ms INTEGER NOT NULL,
  lease TEXT
);
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at_ms, id);
CREATE TABLE model_serving (
  model_id INTEGER PRIMARY KEY REFERENCES models(id),
  max_batch INTEGER NOT NULL,
  max_delay_ms INTEGER NOT NULL
);
)sql"},
      {5, "crawls and their persisted frontiers", R"sql(
CREATE TABLE crawls (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  import_id INTEGER NOT NULL REFERENCES imports(id),
  config TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'limited', 'interrupted', 'failed')),
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  ended_at TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  stats TEXT NOT NULL
);
CREATE INDEX crawls_by_project ON crawls (project_id, id);
CREATE TABLE crawl_urls (
  crawl_id INTEGER NOT NULL REFERENCES crawls(id),
  url TEXT NOT NULL,
  seq INTEGER NOT NULL,
  origin TEXT NOT NULL,
  depth INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed', 'skipped')),
  http_status INTEGER,
  content_sha256 TEXT,
  item_id TEXT,
  detail TEXT,
  fetched_at TEXT,
  PRIMARY KEY (crawl_id, url)
){without_rowid};
CREATE INDEX crawl_urls_queued ON crawl_urls (crawl_id, state, origin, seq);
)sql"},
      {6, "users, sessions, token roles; labeling queues, assignments, flags and reviews", R"sql(
CREATE TABLE users (
  id {id},
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'annotator', 'viewer')),
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  password_changed_at TEXT NOT NULL
);
CREATE TABLE sessions (
  token_sha256 TEXT NOT NULL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  remote TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer';
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
ALTER TABLE projects ADD COLUMN overlap INTEGER NOT NULL DEFAULT 1;
ALTER TABLE labels ADD COLUMN color TEXT NOT NULL DEFAULT '';
ALTER TABLE labels ADD COLUMN hotkey TEXT NOT NULL DEFAULT '';
ALTER TABLE annotations ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX annotations_by_request ON annotations (project_id, author, request_id);
CREATE INDEX annotations_by_author ON annotations (project_id, author, id);
CREATE TABLE annotation_withdrawals (
  annotation_id INTEGER NOT NULL PRIMARY KEY REFERENCES annotations(id),
  at TEXT NOT NULL,
  by_user TEXT NOT NULL
);
CREATE TABLE label_tasks (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  state TEXT NOT NULL CHECK (state IN ('open', 'review', 'final')),
  priority REAL NOT NULL,
  votes INTEGER NOT NULL,
  reviewed_annotation_id INTEGER REFERENCES annotations(id),
  suggestion_label_id INTEGER REFERENCES labels(id),
  suggestion_confidence REAL,
  suggestion_model TEXT,
  PRIMARY KEY (project_id, item_id)
){without_rowid};
CREATE INDEX label_tasks_next ON label_tasks (project_id, state, priority);
CREATE TABLE label_task_sync (
  project_id INTEGER NOT NULL PRIMARY KEY REFERENCES projects(id),
  import_id INTEGER NOT NULL,
  items INTEGER NOT NULL
);
CREATE TABLE task_assignments (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  user_name TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('locked', 'labeled', 'skipped', 'flagged')),
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (project_id, item_id, user_name)
){without_rowid};
CREATE INDEX task_assignments_by_user ON task_assignments (project_id, user_name, state);
CREATE TABLE item_flags (
  id {id},
  project_id INTEGER NOT NULL REFERENCES projects(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  user_name TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_at TEXT NOT NULL,
  resolved_at TEXT,
  resolved_by TEXT
);
CREATE INDEX item_flags_by_item ON item_flags (project_id, item_id);
)sql"},
      {7, "project settings: random review sample, collection of unsure production inputs", R"sql(
ALTER TABLE projects ADD COLUMN review_sample_permille INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN collect_below REAL;
)sql"},
      {8, "run list columns (best val accuracy, training seconds), checkpoint sizes, run list indexes", R"sql(
ALTER TABLE runs ADD COLUMN best_val_accuracy REAL;
ALTER TABLE runs ADD COLUMN train_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE run_epochs ADD COLUMN checkpoint_bytes INTEGER;
UPDATE runs SET
  best_val_accuracy = (SELECT e.val_accuracy FROM run_epochs e WHERE e.run_id = runs.id AND e.epoch = runs.best_epoch),
  train_seconds = (SELECT COALESCE(SUM(e.seconds), 0) FROM run_epochs e WHERE e.run_id = runs.id);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_model ON runs (model, id);
CREATE INDEX runs_by_started ON runs (started_at, id);
CREATE INDEX runs_by_accuracy ON runs (best_val_accuracy, id);
CREATE INDEX runs_by_train_seconds ON runs (train_seconds, id);
CREATE INDEX model_versions_by_run ON model_versions (run_id);
)sql"},
      {9, "the items a person holds, found without scanning the project's tasks", R"sql(
CREATE INDEX task_assignments_held ON task_assignments (project_id, user_name, state, expires_at_ms);
DROP INDEX task_assignments_by_user;
)sql"},
  };
  return migrations;
}

const std::vector<SchemaTable>& SchemaTables() {
  static const std::vector<SchemaTable> tables = {
      {"projects", "id", true},
      {"labels", "id", true},
      {"items", "id", false},
      {"imports", "id", true},
      {"annotations", "id", true},
      {"project_items", "project_id, item_id", false},
      {"dataset_versions", "id", true},
      {"version_tags", "project_id, name", false},
      {"runs", "id", true},
      {"run_epochs", "run_id, epoch", false},
      {"models", "id", true},
      {"model_versions", "model_id, number", false},
      {"model_aliases", "model_id, alias", false},
      {"model_alias_history", "id", true},
      {"requirements", "project_id, position", false},
      {"evaluations", "id", true},
      {"users", "id", true},
      {"api_tokens", "id", true},
      {"jobs", "id", false},
      {"queue_messages", "id", true},
      {"model_serving", "model_id", false},
      {"crawls", "id", true},
      {"crawl_urls", "crawl_id, url", false},
      {"sessions", "token_sha256", false},
      {"annotation_withdrawals", "annotation_id", false},
      {"label_tasks", "project_id, item_id", false},
      {"label_task_sync", "project_id", false},
      {"task_assignments", "project_id, item_id, user_name", false},
      {"item_flags", "id", true},
  };
  return tables;
}

static void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

std::string RenderMigrationSql(const std::string& sql, const std::string& dialect) {
  std::string out = sql;
  if (dialect == "sqlite") {
    ReplaceAll(out, "{id}", "INTEGER PRIMARY KEY");
    ReplaceAll(out, "{without_rowid}", " WITHOUT ROWID");
  } else {
    // PostgreSQL's INTEGER is 32-bit and its REAL 32-bit float; SQLite's are
    // 64-bit, which the code relies on (sizes, milliseconds, metrics).
    out = std::regex_replace(out, std::regex("\\bINTEGER\\b"), "BIGINT");
    out = std::regex_replace(out, std::regex("\\bREAL\\b"), "DOUBLE PRECISION");
    ReplaceAll(out, "{id}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    ReplaceAll(out, "{without_rowid}", "");
  }
  return out;
}

}  // namespace fsml
