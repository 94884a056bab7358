// Check Host, Set Up Host… and Add Host….
import * as vscode from 'vscode';
import type { HostReport } from '../../migration/api';
import { parseDestination } from '../../transport/sshConfig';
import { Commands } from '../common/contributions';
import { describeReport } from '../migrate/migrate';
import type { ProcessModel } from '../view/processModel';
import { hostOf } from '../view/processRefs';
import { appendHostBlock, formatHostBlock, hasHostAlias, validateAlias } from './sshConfigEdit';
import { readFile } from 'node:fs/promises';

export interface HostCommandDeps {
  model: ProcessModel;
  log: vscode.LogOutputChannel;
  /** The ssh_config the extension reads and Add Host writes (the setting, or ~/.ssh/config). */
  sshConfigFile: () => string;
}

export const ADD_HOST = 'Add Host';

async function pickHost(model: ProcessModel, title: string): Promise<string | undefined> {
  const pick = await vscode.window.showQuickPick(
    model.hostNames().map((h) => ({ label: h, description: model.host(h)?.reachability === 'unreachable' ? 'unreachable' : '' })),
    { title, placeHolder: 'Host' },
  );
  return pick?.label;
}

export async function checkHost(deps: HostCommandDeps, host: string, notify = true): Promise<HostReport> {
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Checking ${host}` },
    () => deps.model.check(host),
  );
  const { description } = describeReport(report);
  deps.log.info(`Check ${host}: ${report.reachable ? 'reachable' : 'unreachable'}; ${description}; ${report.problems.join(' ') || 'no problems'}`);
  if (notify) {
    if (!report.reachable) void vscode.window.showErrorMessage(`${host} is unreachable: ${report.problems[0] ?? 'no reason given'}`);
    else if (report.problems.length) void vscode.window.showWarningMessage(`${host} (${description}): ${report.problems.join(' ')}`);
    else void vscode.window.showInformationMessage(`${host} is ready for migrations: ${description}.${report.notes ? ` ${report.notes.join(' ')}` : ''}`);
  }
  return report;
}

export function registerHostCommands(context: vscode.ExtensionContext, deps: HostCommandDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.CheckHost, async (arg?: unknown) => {
      const host = hostOf(arg) ?? (await pickHost(deps.model, 'Check Host'));
      return host ? checkHost(deps, host) : undefined;
    }),
    vscode.commands.registerCommand(Commands.AddHost, () => addHost(deps)),
    vscode.commands.registerCommand(Commands.SetUpHost, async (arg?: unknown) => {
      const host = hostOf(arg) ?? (await pickHost(deps.model, 'Set Up Host'));
      return host ? setUpHost(deps, host) : undefined;
    }),
  );
}

/** Set Up Host…: installs what the host lacks, over SSH and as root once, with each step shown. */
export async function setUpHost(deps: HostCommandDeps, host: string): Promise<HostReport | undefined> {
  try {
    const { steps, report } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Setting up ${host}` },
      (progress) => deps.model.setUp(host, (step) => progress.report({ message: step })),
    );
    deps.log.info(`Set up ${host}: ${steps.join('; ')}`);
    const { description } = describeReport(report);
    if (report.problems.length) void vscode.window.showWarningMessage(`${host} is set up, but: ${report.problems.join(' ')}`);
    else void vscode.window.showInformationMessage(`${host} is set up and ready for migrations: ${description}.`);
    return report;
  } catch (err) {
    deps.log.error(`Set up ${host}: ${(err as Error).message}`);
    void vscode.window.showErrorMessage((err as Error).message);
    return undefined;
  }
}

async function addHost(deps: HostCommandDeps): Promise<string | undefined> {
  const destination = await vscode.window.showInputBox({
    title: 'Add Host (1/2)',
    prompt: 'SSH destination: user@host[:port]',
    placeHolder: 'me@build-box.example.com',
    ignoreFocusOut: true,
    validateInput: (v) => (parseDestination(v.trim()).host ? undefined : 'Enter a host name or address.'),
  });
  if (!destination?.trim()) return undefined;
  const dest = parseDestination(destination.trim());
  const file = deps.sshConfigFile();
  const existing = await readFile(file, 'utf8').catch(() => '');
  const alias = await vscode.window.showInputBox({
    title: 'Add Host (2/2)',
    prompt: `Name for the host in ${file}`,
    value: dest.host.split('.')[0],
    ignoreFocusOut: true,
    validateInput: (v) => validateAlias(v.trim()) ?? (hasHostAlias(existing, v.trim()) ? `${file} already has a Host ${v.trim()}.` : undefined),
  });
  if (!alias?.trim()) return undefined;
  const block = formatHostBlock({ alias: alias.trim(), hostName: dest.host, user: dest.user, port: dest.port });
  const choice = await vscode.window.showInformationMessage(
    `Add host "${alias.trim()}" to ${file}?`,
    { modal: true, detail: block },
    ADD_HOST,
  );
  if (choice !== ADD_HOST) return undefined;
  try {
    await appendHostBlock(file, block);
  } catch (err) {
    void vscode.window.showErrorMessage(`Cannot write ${file}: ${(err as Error).message}.`);
    return undefined;
  }
  deps.log.info(`Added Host ${alias.trim()} to ${file}`);
  deps.model.reloadHosts();
  void checkHost(deps, alias.trim());
  return alias.trim();
}
