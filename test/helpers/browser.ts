/**
 * A real Chromium for the browser tests, driven by playwright-core: Debian's
 * `/usr/bin/chromium` (`.ci/run` installs it), or the one `WORKBUS_CHROMIUM` names. A
 * missing browser fails the test that needs it with a message saying how to get one.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['WORKBUS_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags for a headless browser on a machine with no GPU, no sandbox and no internet. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Starts a headless Chromium. @throws naming the missing executable and how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set WORKBUS_CHROMIUM to its path`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
