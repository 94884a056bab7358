// Playwright tests of the extension's UI in the real workbench (run by test/vscode/run.ts after the
// mocha suite). What a user does: open the Processes view, find a process, right-click → Migrate to…,
// pick the other host, read the notification, open the report. Screenshots go to .test-artifacts/.
// With the lab a real process moves from lab-a to lab-b; without it the process is local and the
// destination does not exist, so the failure notification and its Show Log are exercised instead.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { findNotification, runCommand } from './workbench';

export interface UiTestContext {
  url: string;
  artifacts: string;
  /** The lab's ssh config when lab-a and lab-b answer. */
  lab?: string;
  say: (message: string) => void;
}

const sh = promisify(execFile);

interface Scenario {
  /** Host the process starts on; `to` is where it is sent. */
  from: string;
  to: string;
  name: string;
  pid: number;
  expectSuccess: boolean;
  cleanup: (destinationPid?: number) => Promise<void>;
}

async function startScenario(ctx: UiTestContext): Promise<Scenario> {
  if (ctx.lab) {
    const ssh = async (host: string, command: string) =>
      (await sh('ssh', ['-F', ctx.lab!, '-o', 'BatchMode=yes', host, command], { timeout: 30_000 })).stdout.trim();
    const program = '/tmp/pmtest-lab';
    for (const host of ['lab-a', 'lab-b']) await ssh(host, `[ -x ${program} ] || cp /bin/sleep ${program}`);
    const pid = Number(await ssh('lab-a', `{ setsid ${program} 900 </dev/null >/dev/null 2>&1 & echo $!; }`));
    return {
      from: 'lab-a',
      to: 'lab-b',
      name: 'pmtest-lab',
      pid,
      expectSuccess: true,
      cleanup: async (destinationPid) => {
        await ssh('lab-a', `kill ${pid} 2>/dev/null; true`);
        if (destinationPid) await ssh('lab-b', `kill ${destinationPid} 2>/dev/null; true`);
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'pm-ui-'));
  const file = join(dir, 'pmtest-ui');
  copyFileSync('/bin/sleep', file);
  const child = spawn(file, ['900'], { stdio: 'ignore', detached: true });
  child.unref();
  return {
    from: 'local',
    to: 'no-such-host.invalid',
    name: 'pmtest-ui',
    pid: child.pid!,
    expectSuccess: false,
    cleanup: async () => {
      child.kill('SIGKILL');
    },
  };
}

/** The migration's outcome: the center may open once nothing migrating is left in the toasts. */
function findOutcome(page: Page, filter: string, timeoutMs: number): Promise<Locator> {
  const migrating = page.locator('.notifications-toasts .notification-list-item:has-text("Migrating")');
  return findNotification(page, filter, { timeoutMs, pollMs: 500, mayOpenCenter: async () => !(await migrating.isVisible().catch(() => false)) });
}

/** Moves the mouse off the tree so a row's hover does not cover the rows below it. */
async function dismissHover(page: Page): Promise<void> {
  await page.mouse.move(700, 850);
  await page.keyboard.press('Escape');
  await page.locator('.monaco-hover').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
}

/**
 * Right-clicks `row`, chooses `item` and waits for `expected`. Retried: a tree refresh (a host check
 * finishing) can re-render the row under the mouse and close the menu before the click lands.
 */
async function chooseFromContextMenu(page: Page, row: Locator, item: string, expected: Locator, shot: (name: string) => Promise<unknown>): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await dismissHover(page);
      await row.click({ button: 'right' });
      const menuItem = page.locator(`.monaco-menu .action-item:has-text("${item}")`).first();
      await menuItem.waitFor({ timeout: 10_000 }).catch((err: unknown) => {
        throw new Error(`the context menu has no "${item}" (${(err as Error).message.split('\n')[0]})`);
      });
      // Menus act on mouse up over a hovered item: hover first.
      await menuItem.hover();
      await menuItem.locator('.action-menu-item').click();
      await page.mouse.move(700, 850); // off the tree, so no hover opens over what comes next
      await expected.waitFor({ timeout: 15_000 }).catch((err: unknown) => {
        throw new Error(`"${item}" did not open what was expected (${(err as Error).message.split('\n')[0]})`);
      });
      return;
    } catch (err) {
      lastError = err;
      await shot(`ui-context-menu-${attempt}.png`).catch(() => undefined);
      await page.keyboard.press('Escape');
    }
  }
  throw lastError;
}

/**
 * Expands `parent` until `child` shows. A refresh (a host check finishing, the filter applying)
 * can re-render the tree and collapse the row again, so this keeps at it instead of clicking once.
 */
async function expandUntilVisible(page: Page, parent: Locator, child: Locator, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await parent.waitFor({ timeout: timeoutMs });
  while (!(await child.isVisible().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`no such row under ${await parent.getAttribute('aria-label').catch(() => '?')} within ${timeoutMs / 1000} s`);
    if ((await parent.getAttribute('aria-expanded').catch(() => null)) === 'false') {
      await parent.locator('.monaco-tl-twistie').click().catch(() => undefined);
    }
    await child.waitFor({ timeout: 2_000 }).catch(() => undefined);
  }
}

function reportFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

export async function runUiTests(page: Page, ctx: UiTestContext): Promise<number> {
  const shot = (name: string) => page.screenshot({ path: join(ctx.artifacts, name) });
  const step = (message: string) => ctx.say(`ui: ${message}`);
  const scenario = await startScenario(ctx);
  let destinationPid: number | undefined;
  try {
    step(`process ${scenario.name} (PID ${scenario.pid}) on ${scenario.from}; migrating to ${scenario.to}`);
    await page.goto(ctx.url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });

    // Open the view from the activity bar.
    const container = page.locator('.activitybar [aria-label^="Process Migrator"]').first();
    await container.waitFor({ timeout: 60_000 });
    await container.click();
    // A container with one view shows it without a pane header ("Process Migrator: Processes").
    await page.locator('.part.sidebar .monaco-list-row[aria-level="1"]:has-text("local")').first().waitFor();
    step('Processes view open');

    // Narrow the tree to the process, as a user would with the filter button.
    await runCommand(page, 'Process Migrator: Filter Processes…');
    const filterInput = page.locator('.quick-input-widget input');
    await filterInput.fill(scenario.name);
    await filterInput.press('Enter');

    const hostRow = page.locator(`.part.sidebar .monaco-list-row[aria-level="1"]:has-text("${scenario.from}")`).first();
    const processRow: Locator = page.locator(`.monaco-list-row[aria-label="${scenario.name}, PID ${scenario.pid}, on ${scenario.from}"]`);
    await expandUntilVisible(page, hostRow, processRow, 60_000);
    await dismissHover(page);
    await shot('ui-1-processes.png');
    step(`sees ${scenario.name} under ${scenario.from} (.test-artifacts/ui-1-processes.png)`);

    // Right-click → Migrate to… → the other host.
    const destination = page.locator(`.quick-input-widget .monaco-list-row:has-text("${scenario.to}")`).first();
    await chooseFromContextMenu(page, processRow, 'Migrate to…', destination, shot);
    // Wait for the host check so the picker shows load and free memory (or why it is unreachable).
    await page.locator('.quick-input-widget .monaco-list-row:has-text("checking…")').first().waitFor({ state: 'detached', timeout: 60_000 }).catch(() => undefined);
    await shot('ui-2-destination-picker.png');

    // The picker's gear button chooses the strategy for this move, then the picker comes back.
    await page.locator('.quick-input-widget :is([aria-label^="Choose the migration strategy"], .codicon-settings-gear)').first().click();
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget .monaco-list-row:has-text("pre-copy")').first().waitFor();
    await input.fill('stop-and-copy');
    await input.press('Enter');
    await page.locator('.quick-input-widget input[placeholder*="strategy: stop-and-copy"]').waitFor({ timeout: 15_000 });
    await destination.waitFor();
    step('chose stop-and-copy with the picker\'s strategy button');
    await destination.click();
    step(`picked ${scenario.to}`);

    // The outcome notification: a toast, or (when the toast already timed out) the notification center.
    // Either outcome is taken, so a failure still gets its Show Log and report screenshots.
    const toast = await findOutcome(page, `:is(:has-text("Migrated ${scenario.name}"), :has(.codicon-error))`, 180_000);
    const succeeded = !(await toast.locator('.codicon-error').count());
    const message = (await toast.locator('.notification-list-item-message').innerText()).trim();
    await shot('ui-3-notification.png');
    step(`notification: ${message}`);
    destinationPid = Number(/now PID (\d+)/.exec(message)?.[1]) || undefined;
    if (succeeded && !destinationPid) throw new Error(`The success notification has no new PID: ${message}`);

    if (!succeeded) {
      await toast.locator('.monaco-button:has-text("Show Log")').click();
      await page.locator('.part.panel .monaco-editor:has-text("failed")').first().waitFor({ timeout: 30_000 });
      await shot('ui-4-log.png');
      step('Show Log opened the output channel with the failure');
      await runCommand(page, 'Process Migrator: Show Migration Report');
    } else {
      await toast.locator('.monaco-button:has-text("Show Report")').click();
    }

    // The report webview.
    const frame = reportFrame(page);
    await frame.locator('h1:has-text("Migration Report")').waitFor({ timeout: 30_000 });
    if (succeeded) {
      await frame.locator('svg.chart rect.bar').first().waitFor();
      await frame.locator('td[data-fact="Strategy"]:has-text("stop-and-copy was requested")').waitFor();
    }
    await frame.locator(`text=${scenario.name}`).first().waitFor();
    await page.waitForTimeout(500);
    await shot('ui-5-report.png');
    step('report open (.test-artifacts/ui-5-report.png)');

    if (succeeded) {
      // The process now shows under its new host, saying where it came from.
      const toRow = page.locator(`.part.sidebar .monaco-list-row[aria-level="1"]:has-text("${scenario.to}")`).first();
      if ((await toRow.getAttribute('aria-expanded')) === 'false') await toRow.click();
      const arrived = page.locator(`.monaco-list-row[aria-label="${scenario.name}, PID ${destinationPid}, on ${scenario.to}"]`);
      await arrived.waitFor({ timeout: 60_000 });
      await arrived.locator(`.label-description:has-text("from ${scenario.from}")`).waitFor();
      await dismissHover(page);
      await shot('ui-6-under-destination.png');
      step(`sees ${scenario.name} under ${scenario.to}, from ${scenario.from} (.test-artifacts/ui-6-under-destination.png)`);
    }
    if (succeeded !== scenario.expectSuccess) {
      step(`FAILED: expected the migration to ${scenario.expectSuccess ? 'succeed' : 'fail'}; notification: ${message}`);
      return 1;
    }
    return 0;
  } catch (err) {
    await shot('ui-failure.png').catch(() => undefined);
    step(`FAILED: ${(err as Error).message.split('\n')[0]} (.test-artifacts/ui-failure.png)`);
    return 1;
  } finally {
    await scenario.cleanup(destinationPid).catch(() => undefined);
  }
}
