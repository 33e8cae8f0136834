// Messages for screen readers, read out by the aria-live regions of the app shell.

import { Store } from './store';

export interface Announcement {
  text: string;
  serial: number;
}

export const politeMessage = new Store<Announcement>({ text: '', serial: 0 });
export const assertiveMessage = new Store<Announcement>({ text: '', serial: 0 });

let serial = 0;

// Polite for progress ("Saved"), assertive for errors.
export function announce(text: string, urgency: 'polite' | 'assertive' = 'polite'): void {
  (urgency === 'polite' ? politeMessage : assertiveMessage).set({ text, serial: ++serial });
}
