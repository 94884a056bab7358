// Auto-refresh: while the Processes view is visible, every `autoRefreshSeconds` (0: off).
import * as vscode from 'vscode';
import { fullSettingKey, readSetting, SETTINGS_SECTION } from '../common/contributions';
import type { ProcessModel } from './processModel';

export function registerAutoRefresh(context: vscode.ExtensionContext, model: ProcessModel, view: vscode.TreeView<unknown>): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'autoRefreshSeconds');
    if (seconds > 0 && view.visible) {
      timer = setInterval(() => void model.refresh(), Math.max(1, seconds) * 1000);
    }
  };
  schedule();
  context.subscriptions.push(
    view.onDidChangeVisibility(schedule),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(fullSettingKey('autoRefreshSeconds'))) schedule();
    }),
    { dispose: () => timer && clearInterval(timer) },
  );
}
