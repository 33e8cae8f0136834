// The model demo: pick a model (a link names one), drop, paste or choose an
// image, and see the model's top predictions as bars, with the latency and
// the version that answered. "Share" copies a link that opens this demo for
// the model with nothing to set up; viewers may use it.

import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { demo as demoApi, refModel, refPath } from '../api/demo';
import type { ModelsResponse, Prediction } from '../api/demo';
import type { Project } from '../api/types';
import { DropZone, ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { navigate } from '../lib/router';
import './demo.css';

const MAX_BYTES = 20 * 1024 * 1024; // base64 of this stays under the server's 32 MiB body limit
const TYPES = ['image/png', 'image/jpeg'];

// The references a viewer can pick: every alias of every model, then its latest version.
function choices(models: ModelsResponse | null): string[] {
  const out: string[] = [];
  for (const m of models?.models ?? []) {
    for (const alias of Object.keys(m.aliases).sort((a, b) => (a === 'production' ? -1 : b === 'production' ? 1 : a.localeCompare(b))))
      out.push(`${m.name}@${alias}`);
    out.push(`${m.name}/${m.latest}`);
  }
  return out;
}

function defaultRef(models: ModelsResponse): string | null {
  const prod = models.models.find((m) => 'production' in m.aliases);
  if (prod) return `${prod.name}@production`;
  const first = models.models[0];
  return first ? `${first.name}/${first.latest}` : null;
}

function ProbabilityBars({ result }: { result: Prediction }) {
  return (
    <ol class="prob-bars" data-testid="demo-predictions" aria-label="Top predictions">
      {result.predictions.map((p) => {
        const pct = p.probability * 100;
        return (
          <li key={p.label}>
            <span class="prob-label">{p.label}</span>
            <span class="prob-track" aria-hidden="true">
              <span class="prob-fill" style={{ display: 'block', width: `${Math.max(0, Math.min(100, pct))}%` }} />
            </span>
            <span class="prob-pct">{pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%</span>
          </li>
        );
      })}
    </ol>
  );
}

function ShareButton({ modelRef }: { modelRef: string }) {
  const [shown, setShown] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const link = `${window.location.origin}/demo/${refPath(modelRef)}`;
  const share = async () => {
    setCopied(false);
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      announce('Demo link copied');
    } catch {
      // No clipboard (an insecure origin, or permission refused): show the link to copy by hand.
    }
    setShown(link);
  };
  return (
    <div class="share-row">
      <button type="button" class="secondary" onClick={() => void share()} data-testid="demo-share">
        Share
      </button>
      {shown && (
        <>
          <input readOnly value={shown} aria-label="Demo link" data-testid="demo-link"
            onFocus={(e) => e.currentTarget.select()} />
          <span role="status">{copied ? 'Link copied.' : 'Copy this link.'}</span>
        </>
      )}
    </div>
  );
}

function ImageDemo({ modelRef }: { modelRef: string }) {
  const [file, setFile] = useState<Blob | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [result, setResult] = useState<(Prediction & { ms: number }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);

  const run = async (image: Blob) => {
    const mine = ++seq.current;
    setBusy(true);
    setError(null);
    const t0 = performance.now();
    try {
      const r = await demoApi.predict(modelRef, image, 5);
      if (mine !== seq.current) return;
      setResult({ ...r, ms: performance.now() - t0 });
      const top = r.predictions[0];
      if (top) announce(`${top.label}, ${Math.round(top.probability * 100)} percent`);
    } catch (err) {
      if (mine !== seq.current) return;
      setResult(null);
      setError(errorMessage(err));
    } finally {
      if (mine === seq.current) setBusy(false);
    }
  };

  const take = (f: File | Blob | null | undefined) => {
    if (!f) return;
    if (!TYPES.includes(f.type)) return setError(`Use a PNG or JPEG image (this one is ${f.type || 'of an unknown type'}).`);
    if (f.size > MAX_BYTES) return setError('The image is larger than 20 MiB.');
    setFile(f);
    setResult(null);
    void run(f);
  };

  // A new model answers for the image already there.
  useEffect(() => {
    if (file) void run(file);
  }, [modelRef]);

  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  // Ctrl+V anywhere on the page pastes an image.
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
      if (!item) return;
      e.preventDefault();
      take(item.getAsFile());
    };
    document.addEventListener('paste', onPaste);
    return () => document.removeEventListener('paste', onPaste);
  }, [modelRef]);

  return (
    <div class="demo-layout">
      <section class="card" aria-labelledby="demo-input-title">
        <h2 id="demo-input-title">Image</h2>
        <DropZone testId="demo-dropzone" inputId="demo-file" inputTestId="demo-file" prompt="Drop an image here, paste one (Ctrl+V), or"
          choose="Choose an image" accept="image/png,image/jpeg" onFiles={(files) => take(files?.[0])} />
        <div class="demo-preview-box">
          {preview ? <img class="demo-preview" src={preview} alt="The image sent to the model" data-testid="demo-preview" />
            : <p class="muted">No image yet.</p>}
        </div>
      </section>
      <section class="card" aria-labelledby="demo-result-title" aria-busy={busy}>
        <h2 id="demo-result-title">Prediction</h2>
        <ErrorBox error={error} />
        {busy && <p role="status">Asking {modelRef}…</p>}
        {!busy && !result && !error && <p class="muted">The model's answer appears here.</p>}
        {result && (
          <>
            <ProbabilityBars result={result} />
            <p class="demo-meta" data-testid="demo-meta">
              Answered by <strong>{result.model}</strong> in {Math.round(result.ms).toLocaleString()} ms (round trip).
            </p>
          </>
        )}
      </section>
    </div>
  );
}

export function DemoPage({ modelRef }: { modelRef?: string }) {
  useTitle(modelRef ? `Demo ${modelRef}` : 'Demo');
  const [models, setModels] = useState<ModelsResponse | null>(null);
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    demoApi
      .models()
      .then(setModels)
      .catch((e) => setError(errorMessage(e)));
  }, []);

  const chosen = modelRef ?? (models ? defaultRef(models) : null);
  const summary = models?.models.find((m) => m.name === (chosen ? refModel(chosen) : ''));

  useEffect(() => {
    setProject(null);
    if (!summary) return;
    demoApi
      .project(summary.project)
      .then(setProject)
      .catch((e) => setError(errorMessage(e)));
  }, [summary?.project]);

  const options = choices(models);
  if (chosen && !options.includes(chosen)) options.unshift(chosen);

  return (
    <section>
      <PageTitle>{modelRef ? `Demo: ${modelRef}` : 'Demo'}</PageTitle>
      <ErrorBox error={error} />
      {!models && !error && <Loading what="models" />}
      {models && models.models.length === 0 && (
        <p class="empty" data-testid="demo-empty">
          No models are registered yet. Train one on a dataset version and register it (<code>fsml train</code>,{' '}
          <code>fsml models register</code>), then alias it <code>production</code>.
        </p>
      )}
      {models && chosen && (
        <>
          <div class="card inline-form">
            <div class="field">
              <label for="demo-model">Model</label>
              <select id="demo-model" value={chosen} data-testid="demo-model"
                onChange={(e) => navigate(`/demo/${refPath(e.currentTarget.value)}`)}>
                {options.map((r) => (
                  <option key={r} value={r}>{r}</option>
                ))}
              </select>
            </div>
            {summary && <p class="demo-meta">Project {summary.project}, {summary.versions} version{summary.versions === 1 ? '' : 's'}.</p>}
            <ShareButton modelRef={chosen} />
          </div>
          {!summary && <ErrorBox error={`There is no model named '${refModel(chosen)}'.`} />}
          {summary && project && project.task_type !== 'image-classification' && (
            <p class="empty" data-testid="demo-text-unsupported">
              This model's project is a text project. Text models are not supported yet, so there is nothing to try here.
            </p>
          )}
          {summary && project?.task_type === 'image-classification' && <ImageDemo modelRef={chosen} />}
          {summary && !project && !error && <Loading what="the model's project" />}
        </>
      )}
    </section>
  );
}
