// Playwright steps in the real workbench that the UI tests share.
import type { Locator, Page } from 'playwright-core';

/** Runs a command from the palette (F1), once its row shows. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator(`.quick-input-widget .monaco-list-row:has-text("${title.split(': ').pop()}")`).first().waitFor();
  await input.press('Enter');
}

export interface NotificationWait {
  timeoutMs: number;
  /** Whether the notification center may be opened now (toasts of info messages time out, and
   * a notification that came while a quick input closed goes straight to the center). */
  mayOpenCenter: () => Promise<boolean>;
  /** Called on each look; throws to give up early. */
  check?: () => Promise<void>;
  pollMs: number;
}

/** The notification matching `filter` (a `:has…` selector suffix): a visible toast, else the entry in the notification center. */
export async function findNotification(page: Page, filter: string, wait: NotificationWait): Promise<Locator> {
  const deadline = Date.now() + wait.timeoutMs;
  const toast = page.locator(`.notifications-toasts .notification-list-item${filter}`).last();
  const inCenter = page.locator(`.notifications-center .notification-list-item${filter}`).last();
  while (Date.now() < deadline) {
    if (await toast.isVisible().catch(() => false)) return toast;
    if (await inCenter.isVisible().catch(() => false)) return inCenter;
    await wait.check?.();
    if ((await wait.mayOpenCenter()) && !(await page.locator('.notifications-center.visible').isVisible().catch(() => false))) {
      await runCommand(page, 'Notifications: Show Notifications').catch(() => undefined);
    }
    await page.waitForTimeout(wait.pollMs);
  }
  throw new Error(`No notification ${filter} within ${wait.timeoutMs / 1000} s.`);
}
