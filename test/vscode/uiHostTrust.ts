// Playwright, in the real workbench: a host whose key nobody trusts yet and whose key file is
// passphrase-protected (test/vscode/throwawaySshd.ts). The user runs Check Host, reads the
// fingerprint in the modal, clicks "Trust Always", types a wrong passphrase, then the right one,
// and chooses Remember. known_hosts gets the line (OpenSSH's ssh-keygen -F finds it), the host is
// reachable, and a second connection asks nothing. Screenshots: .test-artifacts/ui-trust-*.png.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { openSshFinds, startThrowawaySshd } from './throwawaySshd';
import { findNotification, runCommand } from './workbench';

export interface HostTrustUiContext {
  url: string;
  artifacts: string;
  /** The folder the window opens; its .vscode/settings.json points the extension at the sshd. */
  workspace: string;
  say: (message: string) => void;
}

const HOST = 'trust-box';
/** The same server under another name: a new connection that reads the same known_hosts. */
const SAME_HOST = 'trust-box-again';

async function openWorkbench(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.activitybar [aria-label^="Process Migrator"]').first().waitFor({ timeout: 60_000 });
}

/** Check Host → the host, from the palette. */
async function checkHost(page: Page, host: string): Promise<void> {
  await runCommand(page, 'Process Migrator: Check Host');
  const row = page.locator(`.quick-input-widget .monaco-list-row:has(:text-is("${host}"))`).first();
  await row.waitFor();
  await row.click();
}

/** A notification matching `filter` (a `:has…` suffix): a toast, else the entry in the notification
 * center (notifications that arrive while the quick input closes go straight there). With
 * `nothingAsked`, fails at once if the modal or the passphrase box shows up instead. */
/** A notification of the trust flow; with `nothingAsked`, a modal or passphrase box fails it. */
function findNotice(page: Page, filter: string, nothingAsked = false): Promise<Locator> {
  const asked = page.locator('.monaco-dialog-box, .quick-input-widget:has-text("SSH Key Passphrase")').first();
  return findNotification(page, filter, {
    timeoutMs: 90_000,
    pollMs: 300,
    check: async () => {
      if (nothingAsked && (await asked.isVisible().catch(() => false))) {
        throw new Error('something was asked although the key is trusted and the passphrase remembered');
      }
    },
    // F1 would type into whatever quick input is open: only when none is.
    mayOpenCenter: async () => !(await page.locator('.quick-input-widget').first().isVisible().catch(() => false)),
  });
}

const checked = (host: string) => `:is(:has-text("${host} is"), :has-text("${host} ("))`;

/** Names the step a Playwright wait failed in. */
async function expecting<T>(what: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`waiting for ${what}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function runHostTrustUiTests(page: Page, ctx: HostTrustUiContext): Promise<number> {
  const shot = (name: string) => page.screenshot({ path: join(ctx.artifacts, name) });
  const step = (message: string) => ctx.say(`ui host trust: ${message}`);
  const settingsFile = join(ctx.workspace, '.vscode', 'settings.json');
  const settingsBefore = readFileSync(settingsFile, 'utf8');
  const sshd = await startThrowawaySshd([HOST, SAME_HOST], { sharedKnownHosts: true });
  const known = sshd.knownHosts(HOST);
  try {
    writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(settingsBefore), 'processMigrator.sshConfigFile': sshd.sshConfig }, null, 2));
    step(`sshd on 127.0.0.1:${sshd.port}, host key ${sshd.hostFingerprint}, nobody trusts it yet`);
    await openWorkbench(page, ctx.url);
    await checkHost(page, HOST);

    // The modal, with the fingerprint the user compares.
    const dialog = page.locator('.monaco-dialog-box');
    await expecting('the unknown-key modal', dialog.waitFor({ timeout: 60_000 }));
    const text = await dialog.innerText();
    if (!text.includes(`The authenticity of host ${HOST} (127.0.0.1:${sshd.port}) can't be established.`) || !text.includes(sshd.hostFingerprint)) {
      throw new Error(`the modal does not show the host and its fingerprint: ${text}`);
    }
    await shot('ui-trust-1-modal.png');
    step('modal shows the fingerprint (.test-artifacts/ui-trust-1-modal.png); clicking Trust Always');
    await dialog.locator('.monaco-button:has-text("Trust Always")').click();

    // The passphrase box: a password field; a wrong answer keeps it open with a message.
    const box = page.locator('.quick-input-widget:has-text("SSH Key Passphrase")');
    await expecting('the passphrase box', box.locator(`:text("Passphrase for ${sshd.identityFile}")`).first().waitFor({ timeout: 60_000 }));
    const input = box.locator('input[type="password"]');
    await expecting('a password field in the passphrase box', input.waitFor());
    await input.fill('not the passphrase');
    await input.press('Enter');
    await expecting('the wrong-passphrase message', box.locator(':text("Wrong passphrase, try again")').first().waitFor({ timeout: 30_000 }));
    await shot('ui-trust-2-wrong-passphrase.png');
    step('a wrong passphrase is asked again (.test-artifacts/ui-trust-2-wrong-passphrase.png)');
    await input.fill(sshd.passphrase);
    await input.press('Enter');

    const offer = await expecting('the offer to remember the passphrase', findNotice(page, ':has-text("Remember the passphrase")'));
    await shot('ui-trust-3-remember.png');
    await offer.locator('.monaco-button:has-text("Remember")').click();
    step('chose Remember');

    const outcome = await expecting('the Check Host outcome', findNotice(page, checked(HOST)));
    const message = (await outcome.locator('.notification-list-item-message').innerText()).trim();
    await shot('ui-trust-4-checked.png');
    step(`Check Host: ${message}`);
    if (message.includes('unreachable')) throw new Error(`the host is unreachable: ${message}`);

    if (!(await openSshFinds(known, sshd.port, sshd.hostKey))) throw new Error(`ssh-keygen -F does not find the host in ${known}: ${readFileSync(known, 'utf8')}`);
    const modes = [statSync(known).mode & 0o777, statSync(dirname(known)).mode & 0o777];
    if (modes[0] !== 0o600 || modes[1] !== 0o700) throw new Error(`known_hosts is ${modes[0]!.toString(8)} in a ${modes[1]!.toString(8)} directory`);
    step(`known_hosts has the key (ssh-keygen -F finds it), 0600 in a 0700 directory`);

    // A new connection to the same server: its key is known and the passphrase remembered. (Not
    // after a reload: this harness serves VS Code without code-server's /mint-key, so the web
    // secret storage cannot decrypt what it stored once the page reloads.)
    await checkHost(page, SAME_HOST);
    const again = (await (await expecting('the second Check Host outcome', findNotice(page, checked(SAME_HOST), true))).locator('.notification-list-item-message').innerText()).trim();
    if (again.includes('unreachable')) throw new Error(`the second connection failed: ${again}`);
    await shot('ui-trust-5-second-connection.png');
    step(`a second connection asks nothing: ${again}`);
    return 0;
  } catch (err) {
    await shot('ui-trust-failure.png').catch(() => undefined);
    step(`FAILED: ${(err as Error).message.split('\n')[0]} (.test-artifacts/ui-trust-failure.png)`);
    return 1;
  } finally {
    writeFileSync(settingsFile, settingsBefore);
    await sshd.stop();
  }
}
