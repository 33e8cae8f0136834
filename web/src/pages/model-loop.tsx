// The project's model in the loop: which model suggests labels, how much
// of the open queue it has scored, and "Retrain" (reviewers): a new version
// of the current labels, a training run, a new model version aliased
// staging, and the queue rescored, least confident first.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { modelLoop } from '../api/endpoints';
import type { Project, RetrainStatus, SuggestionStatus } from '../api/types';
import { ErrorBox, ProgressBar } from '../components/common';
import { announce } from '../lib/announce';
import { formatTime } from '../lib/format';
import { Link } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import './model-loop.css';

const STEPS: RetrainStatus['state'][] = ['committing', 'training', 'registering', 'done'];
const STEP_TITLES: Record<string, string> = {
  committing: 'Committing the labels',
  training: 'Training',
  registering: 'Registering',
  done: 'Done',
};

function busy(s: SuggestionStatus | null): boolean {
  if (!s) return false;
  return s.running || ['committing', 'training', 'registering'].includes(s.retrain.state);
}

function RetrainSteps({ retrain }: { retrain: RetrainStatus }) {
  if (retrain.state === 'idle') return null;
  const at = STEPS.indexOf(retrain.state);
  return (
    <div class="retrain-status" data-testid="retrain-status">
      {retrain.state === 'failed' ? (
        <p class="error-text" role="alert">
          Retraining failed: {retrain.error}
        </p>
      ) : (
        <ol class="steps" aria-label="Retraining steps">
          {STEPS.map((step, i) => (
            <li key={step} class={i < at || retrain.state === 'done' ? 'step done' : i === at ? 'step current' : 'step'}
                aria-current={i === at ? 'step' : undefined}>
              {STEP_TITLES[step]}
            </li>
          ))}
        </ol>
      )}
      <p class="muted small">
        {retrain.version !== null && <>On version v{retrain.version}. </>}
        {retrain.run_id !== null && (
          <>
            <Link href={`/runs/${retrain.run_id}`}>Run {retrain.run_id}</Link>.{' '}
          </>
        )}
        {retrain.model && (
          <>
            Registered <Link href={`/models/${encodeURIComponent(retrain.model.split('/')[0]!)}`}>{retrain.model}</Link> as
            staging.{' '}
          </>
        )}
        {retrain.started_at && <>Started {formatTime(retrain.started_at)}</>}
        {retrain.finished_at && <>, ended {formatTime(retrain.finished_at)}</>}
      </p>
    </div>
  );
}

export function ModelLoopCard({ project }: { project: Project }) {
  const session = useSession();
  const reviewer = hasRole(session?.user, 'reviewer');
  const [status, setStatus] = useState<SuggestionStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [epochs, setEpochs] = useState('');
  const [starting, setStarting] = useState(false);

  const load = () =>
    modelLoop
      .status(project.name)
      .then((s) => {
        setStatus((old) => {
          if (old && busy(old) && s.retrain.state === 'done' && old.retrain.state !== 'done')
            announce(`Retraining finished: ${s.retrain.model ?? 'new model'} suggests labels now`);
          if (old && old.retrain.state !== 'failed' && s.retrain.state === 'failed') announce('Retraining failed', 'assertive');
          return s;
        });
        setError(null);
      })
      .catch((e) => setError(errorMessage(e)));

  useEffect(() => {
    void load();
  }, [project.name]);
  // Poll while something runs: a scoring pass or a retrain.
  useEffect(() => {
    if (!busy(status)) return;
    const t = window.setTimeout(() => void load(), 2000);
    return () => window.clearTimeout(t);
  }, [status]);

  const retrain = async (e: Event) => {
    e.preventDefault();
    const n = epochs.trim() === '' ? undefined : Number(epochs);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1000)) {
      setError('Epochs must be a whole number from 1 to 1000, or empty for the recipe’s.');
      return;
    }
    setStarting(true);
    try {
      const r = await modelLoop.retrain(project.name, n);
      setStatus((old) => (old ? { ...old, retrain: r } : old));
      announce('Retraining started');
      void load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setStarting(false);
    }
  };

  const running = status ? ['committing', 'training', 'registering'].includes(status.retrain.state) : false;
  return (
    <section class="card" aria-labelledby="model-loop-title" data-testid="model-loop">
      <h2 id="model-loop-title">Model suggestions</h2>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {!status ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          {status.model ? (
            <>
              <p>
                <Link href={`/models/${encodeURIComponent(status.model.split('/')[0]!)}`}>{status.model}</Link> suggests labels and
                orders the queue least confident first.
              </p>
              <ProgressBar label="Open items scored" value={status.scored} max={Math.max(status.open, 1)}
                           detail={`${status.scored.toLocaleString()} of ${status.open.toLocaleString()}${status.running ? ' · scoring…' : ''}`} />
            </>
          ) : (
            <p class="muted">
              No model yet: the queue is in random order. Retrain to train one on the labels so far; its suggestions then show
              in the labeling view (<kbd>Enter</kbd> accepts one).
            </p>
          )}
          {status.last_error && (
            <p class="error-text" role="alert">
              Scoring failed: {status.last_error}
            </p>
          )}
          <RetrainSteps retrain={status.retrain} />
          {reviewer && (
            <form class="inline-form" onSubmit={retrain}>
              <label>
                Epochs
                <input type="number" min={1} max={1000} inputMode="numeric" placeholder="recipe" value={epochs}
                       onInput={(e) => setEpochs((e.target as HTMLInputElement).value)} class="epochs-input" />
              </label>
              <button type="submit" class="button primary" disabled={starting || running} data-testid="retrain">
                {running ? 'Retraining…' : 'Retrain'}
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}
