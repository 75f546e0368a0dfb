/**
 * Debian's Chromium driven by playwright-core, started as the machine notes
 * say (headless, no sandbox as root, no background networking: this
 * machine has no network but loopback). Playwright gives each launch a
 * fresh temporary profile (user data dir).
 *
 * Without /usr/bin/chromium: in CI (CI set) that is a failure, since
 * .ci/run installs it; elsewhere the caller skips with the reason.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A launched browser, or the reason there is none (only outside CI). */
export async function launchBrowser(): Promise<{ browser: Browser } | { skip: string }> {
  if (!existsSync(CHROMIUM)) {
    const why = `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`;
    if (process.env.CI) throw new Error(`browser tests need Chromium in CI: ${why}`);
    return { skip: why };
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  return { browser };
}
