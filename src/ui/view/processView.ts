// Registers the Processes view: its tree, filter commands and auto-refresh, and what makes it list again.
import * as vscode from 'vscode';
import type { MigrationRequest } from '../../migration/api';
import { Commands, fullSettingKey, Views } from '../common/contributions';
import { registerAutoRefresh } from './autoRefresh';
import { registerFilterCommands } from './filterCommands';
import { LOCAL_HOST, type ProcessModel } from './processModel';
import { ProcessTreeProvider, type TreeExtras } from './processTree';

export interface ProcessViewDeps extends TreeExtras {
  model: ProcessModel;
  migrate: (request: Omit<MigrationRequest, 'strategy'>) => Thenable<unknown>;
}

/** Registers the Processes view with its filter, refresh and auto-refresh. */
export function registerProcessView(context: vscode.ExtensionContext, deps: ProcessViewDeps): ProcessTreeProvider {
  const { model } = deps;
  const provider = new ProcessTreeProvider(model, deps.migrate, deps);
  const view = vscode.window.createTreeView(Views.Processes, {
    treeDataProvider: provider,
    dragAndDropController: provider,
    showCollapseAll: true,
    canSelectMany: true,
  });
  context.subscriptions.push(provider, view);

  context.subscriptions.push(vscode.commands.registerCommand(Commands.Refresh, () => model.refresh()));
  registerFilterCommands(context, model, view);
  registerAutoRefresh(context, model, view);
  context.subscriptions.push(
    view.onDidExpandElement((e) => provider.expanded(e.element)),
    // A host listed again (refresh, auto-refresh, expand) is measured again once its state is
    // older than HostStates' maximum age; HostStates bounds the probes in flight.
    model.onDidChange((host) => {
      if (host && model.host(host)?.reachability === 'reachable') void deps.hostStates?.get([host]);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(fullSettingKey('hosts')) || e.affectsConfiguration(fullSettingKey('sshConfigFile'))) {
        model.reloadHosts();
      }
    }),
    // A terminal opened or closed changes which local processes the workspace owns.
    vscode.window.onDidOpenTerminal(() => void model.loadProcesses(LOCAL_HOST, true)),
    vscode.window.onDidCloseTerminal(() => void model.loadProcesses(LOCAL_HOST, true)),
  );
  return provider;
}
