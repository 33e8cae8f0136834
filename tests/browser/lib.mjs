// What the browser tests share: Chromium's launch, assertions, logging in,
// and small PNGs made on the fly.
import { deflateSync, crc32 } from 'node:zlib';

import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

// Debian's Chromium, headless ($FSML_CHROMIUM overrides the path).
export function launch() {
  return chromium.launch({ executablePath: process.env.FSML_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

// A failed expectation: the test prints its message, not a stack.
export class Fail extends Error {}
export const check = (ok, message) => {
  if (!ok) throw new Fail(message);
};

// A new 1280x800 browser context logged in as `name`: its page.
export async function login(browser, url, name, password) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(url + '/login');
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => !location.pathname.startsWith('/login') || document.querySelector('[data-testid=login-error]'));
  const error = page.getByTestId('login-error');
  if (await error.count()) throw new Fail(`login as ${name}: ${await error.innerText()}`);
  return page;
}

// A w x h 8-bit grayscale PNG whose pixel (x, y) is pixel(x, y) % 256.
export function grayPng(w, h, pixel) {
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = pixel(x, y) % 256;
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
