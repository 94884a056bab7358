// Filter Processes…, Clear Filter, Only Mine and Hide System: the model's filter, shown in the
// view's message and in the context keys the view's title buttons use.
import * as vscode from 'vscode';
import { Commands, ContextKeys } from '../common/contributions';
import { isFilterActive } from '../common/processForest';
import type { ProcessModel } from './processModel';

export function registerFilterCommands(context: vscode.ExtensionContext, model: ProcessModel, view: vscode.TreeView<unknown>): void {
  const updateFilterState = () => {
    const f = model.filter;
    const parts: string[] = [];
    if (f.text.trim()) parts.push(`matching “${f.text.trim()}”`);
    if (f.onlyMine) parts.push('only mine');
    if (f.hideSystem) parts.push('system hidden');
    view.message = parts.length ? `Filter: ${parts.join(', ')}` : undefined;
    void vscode.commands.executeCommand('setContext', ContextKeys.Filtered, isFilterActive(f));
  };
  updateFilterState();

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.Filter, async (text?: unknown) => {
      const value =
        typeof text === 'string'
          ? text
          : await vscode.window.showInputBox({
              title: 'Filter Processes',
              prompt: 'Show processes whose name, command line, user or PID contains this text (empty: no text filter).',
              value: model.filter.text,
            });
      if (value === undefined) return;
      model.setFilter({ text: value });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ClearFilter, () => {
      model.setFilter({ text: '', onlyMine: false, hideSystem: false });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ToggleOnlyMine, () => {
      model.setFilter({ onlyMine: !model.filter.onlyMine });
      updateFilterState();
    }),
    vscode.commands.registerCommand(Commands.ToggleHideSystem, () => {
      model.setFilter({ hideSystem: !model.filter.hideSystem });
      updateFilterState();
    }),
  );
}
