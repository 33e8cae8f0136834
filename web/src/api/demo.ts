// The model demo's calls: the registered models (GET /models) and one
// prediction (POST /models/{ref}/predict), sent as JSON with the image in
// base64 so that the session's CSRF header and retry go with it.

import { enc, get, post } from './client';
import type { ModelSummary } from './runs';
import type { Project } from './types';

export interface ModelsResponse {
  models: ModelSummary[];
  served: Record<string, string>;
}

export interface Prediction {
  model: string; // "name/N" that answered
  predictions: { label: string; probability: number }[];
}

// "fashion@production" or "fashion/3" as a path: each part escaped, '@' kept.
export function refPath(ref: string): string {
  return ref
    .split('/')
    .map((part) => enc(part).replace(/%40/g, '@'))
    .join('/');
}

// The model name of a reference: "fashion" in "fashion@production" and "fashion/3".
export function refModel(ref: string): string {
  return ref.split(/[/@]/)[0] ?? ref;
}

function base64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onerror = () => reject(new Error('The image could not be read.'));
    r.onload = () => {
      const url = String(r.result);
      resolve(url.slice(url.indexOf(',') + 1)); // "data:image/png;base64,...."
    };
    r.readAsDataURL(file);
  });
}

export const demo = {
  models: () => get<ModelsResponse>('/models'),
  project: (name: string) => get<Project>(`/projects/${enc(name)}`),
  predict: async (ref: string, image: Blob, topK = 5) =>
    post<Prediction>(`/models/${refPath(ref)}/predict?top_k=${topK}`, { image_base64: await base64(image) }),
};
