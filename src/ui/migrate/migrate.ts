// Migrate Process…, Migrate to… and drag-and-drop all end in `runMigration`: a cancellable
// notification that follows the engine's phases, then a success or failure notification.
import * as vscode from 'vscode';
import type {
  BatchRequest,
  BatchResult,
  HostReport,
  MigrationRequest,
  MigrationResult,
  Strategy,
  TracedProcess,
} from '../../migration/api';
import { Commands, readSetting, SETTINGS_SECTION } from '../common/contributions';
import { formatKiB } from '../../common/format';
import { isKernelThread } from '../../helper/processList';
import { compareProcesses, describeProcess } from '../common/processForest';
import type { ProcessModel } from '../view/processModel';
import { hostOf, selectedRefs, type ProcessRef } from '../view/processRefs';
import { migrateToBest } from '../../automatic/placement';
import { notStartedResult } from '../../migration/notStarted';
import { forwardPortsEnabled } from '../forwards/forwardCommand';
import { forwardNotice } from '../forwards/portForwards';
import { runBatchMigration } from './batchMigration';
import { StrategyChoice, treeRssKiB } from './strategyPick';
import { askToStopTracer } from './tracerPrompt';
import type { MigrateCommandOptions, MigrationDeps } from './migrationDeps';
import { SHOW_LOG, SHOW_REPORT, withMigrationProgress } from './migrationProgress';

/** The destination that asks the placement for the host (`--to auto` in the CLI). */
export const BEST_HOST = 'auto';

/** Runs one migration with progress and the final notification; never rejects. */
export async function runMigration(
  deps: MigrationDeps,
  request: MigrationRequest,
  options: Pick<MigrateCommandOptions, 'signal' | 'onProgress' | 'forwardPorts' | 'tracerModal'> = {},
): Promise<MigrationResult> {
  const { engine, model, history, log } = deps;
  const source = model.findProcess(request.from, request.pid);
  const name = source?.name;
  const what = `${name ?? 'process'} (PID ${request.pid})`;
  log.info(`Migrating ${what} from ${request.from} to ${request.to} (strategy ${request.strategy ?? 'auto'})`);

  const result = await withMigrationProgress(
    log,
    what,
    request.to,
    options,
    (engineOptions) => {
      // A tracer found by the preflight: the user may have it stopped, before any freeze.
      const withTracer = { ...engineOptions, onTraced: (traced: TracedProcess) => askToStopTracer(traced, options.tracerModal) };
      return request.to === BEST_HOST
        ? migrateToBest(engine, deps.hostStates, { pid: request.pid, from: request.from, among: model.hostNames(), strategy: request.strategy }, withTracer)
        : engine.migrate(request, withTracer);
    },
    (error) => notStartedResult(request, error),
  );

  const forwards = deps.forwards && (options.forwardPorts ?? forwardPortsEnabled()) ? await deps.forwards.afterMigration(result, name) : undefined;
  if (result.placement) log.info(`Placement: ${result.placement.candidates.map((c) => c.reason).join(' ')}`);
  const entry = await history.add(result, name, { forwards, requestedStrategy: request.strategy });
  void model.refresh([request.from, request.to]);
  if (result.ok && result.terminal) await deps.terminals?.follow(result, source, () => model.loadProcesses(request.from, true));

  if (result.ok) {
    log.info(
      `Migrated ${what} from ${result.from} to ${result.to} as PID ${result.destinationPid ?? '?'}: ` +
        `${result.strategy}, frozen ${result.freezeMs} ms, ${result.bytes} bytes`,
    );
    void vscode.window
      .showInformationMessage(
        `Migrated ${what} to ${result.to}: now PID ${result.destinationPid ?? '?'} there.${forwardNotice(result, forwards)}`,
        SHOW_REPORT,
      )
      .then((choice) => choice === SHOW_REPORT && vscode.commands.executeCommand(Commands.ShowReport, entry.id));
  } else {
    log.error(`Migration of ${what} from ${result.from} to ${result.to} failed: ${result.error ?? 'no reason given'}`);
    if (result.rolledBack) log.error('Rolled back: the source process kept running and the destination was cleaned.');
    if (result.logs?.source) log.error(`CRIU log on ${result.from} (source):\n${result.logs.source}`);
    if (result.logs?.destination) log.error(`CRIU log on ${result.to} (destination):\n${result.logs.destination}`);
    void vscode.window
      .showErrorMessage(result.error ?? `Migrating ${what} failed.`, SHOW_LOG, SHOW_REPORT)
      .then((choice) => {
        if (choice === SHOW_LOG) log.show(true);
        else if (choice === SHOW_REPORT) void vscode.commands.executeCommand(Commands.ShowReport, entry.id);
      });
  }
  return result;
}

interface ProcessPick extends vscode.QuickPickItem {
  ref?: ProcessRef;
}

/** A quick pick that opens busy and fills in as each host's processes arrive. */
export async function pickProcess(model: ProcessModel, title = 'Migrate Process: pick the process'): Promise<ProcessRef | undefined> {
  const qp = vscode.window.createQuickPick<ProcessPick>();
  qp.title = title;
  qp.placeholder = 'Type a name, PID or part of the command line';
  qp.ignoreFocusOut = true;
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.busy = true;
  const hosts = model.hostNames();
  const render = () => {
    const items: ProcessPick[] = [];
    for (const host of hosts) {
      const state = model.host(host);
      if (!state?.processes) continue;
      items.push({ label: host, kind: vscode.QuickPickItemKind.Separator });
      const nodes = state.processes
        .filter((p) => !isKernelThread(p))
        .map((info) => ({ info, mine: info.uid === model.myUid, children: [] }))
        .sort(compareProcesses);
      for (const { info } of nodes) {
        items.push({ label: info.name, description: `${describeProcess(info)} · ${info.user}`, detail: info.command, ref: { host, pid: info.pid } });
      }
    }
    const active = qp.activeItems[0]?.ref;
    qp.items = items;
    if (active) {
      const again = items.find((i) => i.ref?.host === active.host && i.ref.pid === active.pid);
      if (again) qp.activeItems = [again];
    }
  };
  void Promise.all(hosts.map((h) => model.loadProcesses(h).then(render))).finally(() => {
    qp.busy = false;
  });
  render();
  return new Promise<ProcessRef | undefined>((resolve) => {
    qp.onDidAccept(() => {
      const ref = qp.selectedItems[0]?.ref;
      if (!ref) return;
      resolve(ref);
      qp.hide();
    });
    qp.onDidHide(() => {
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

interface HostPick extends vscode.QuickPickItem {
  host: string;
}

export function describeReport(report: HostReport | undefined): { description: string; detail: string } {
  if (!report) return { description: 'checking…', detail: '' };
  if (!report.reachable) return { description: '$(error) unreachable', detail: report.problems[0] ?? '' };
  const caps = report.capabilities;
  const parts = caps
    ? [`load ${caps.load1.toFixed(2)}/${caps.cpus}`, `${formatKiB(caps.memAvailableKiB)} free`, caps.criuVersion ? `CRIU ${caps.criuVersion}` : 'no CRIU']
    : [];
  const detail = report.problems.length ? `$(warning) ${report.problems.join(' ')}` : '$(check) ready';
  return { description: parts.join(' · '), detail };
}

/** The host last picked for a process of each host, this window: the likeliest next pick. */
const lastPicked = new Map<string, string>();

/** Destination hosts with their load, free memory and problems, filled in as checks return.
 * `onLikely` hears of the host the user is likely to pick: the one highlighted, and as the
 * picker opens the only candidate or the one picked last from `from` (a click on a row
 * highlights nothing first), so the way there can be readied. */
export async function pickDestination(model: ProcessModel, from: string, title: string, strategy?: StrategyChoice, onLikely?: (host: string) => void): Promise<string | undefined> {
  const candidates = model.hostNames().filter((h) => h !== from);
  if (candidates.length === 0) {
    void vscode.window.showWarningMessage(
      'There is no other host to migrate to: add one with "Process Migrator: Add Host…" or the processMigrator.hosts setting.',
    );
    return undefined;
  }
  const qp = vscode.window.createQuickPick<HostPick>();
  qp.title = title;
  qp.placeholder = strategy ? `Destination host · ${strategy.summary()}` : 'Destination host';
  let choosingStrategy = false; // the strategy picker hides this one for a moment
  if (strategy) {
    qp.buttons = [strategy.button];
    qp.onDidTriggerButton(async () => {
      choosingStrategy = true;
      await strategy.choose();
      choosingStrategy = false;
      qp.placeholder = `Destination host · ${strategy.summary()}`;
      qp.show();
      render(); // a quick pick shown again comes back empty
    });
  }
  qp.ignoreFocusOut = true; // host checks can take seconds; a stray click must not lose the choice
  qp.matchOnDescription = true;
  qp.busy = true;
  const reports = new Map<string, HostReport>();
  const render = () => {
    const active = qp.activeItems[0]?.host;
    // First, marked: the host with the most headroom, chosen by the engine's placement.
    const best: HostPick[] = candidates.length > 1 ? [{ host: BEST_HOST, label: '$(sparkle) Best host', description: 'the most headroom for this process, by measured load', detail: 'the full preflight runs on each host; the log says why the others were passed over' }] : [];
    qp.items = [...best, ...candidates.map((host) => ({ host, label: host, ...describeReport(reports.get(host)) }))];
    const again = qp.items.find((i) => i.host === active);
    if (again) qp.activeItems = [again];
  };
  render();
  void Promise.all(
    candidates.map((host) =>
      model.check(host).then((report) => {
        reports.set(host, report);
        render();
      }),
    ),
  ).finally(() => {
    qp.busy = false;
  });
  if (onLikely) {
    const likely = candidates.length === 1 ? candidates[0] : lastPicked.get(from);
    if (likely && candidates.includes(likely)) onLikely(likely);
    qp.onDidChangeActive((items) => {
      const host = items[0]?.host;
      if (host && host !== BEST_HOST) onLikely(host);
    });
  }
  return new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => {
      const host = qp.selectedItems[0]?.host;
      if (!host) return;
      if (host !== BEST_HOST) lastPicked.set(from, host);
      resolve(host);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (choosingStrategy) return;
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

/** Runs migrations without asking anything (drag and drop): one process, or several at once. */
export interface MigrationRunner {
  one(request: Omit<MigrationRequest, 'strategy'>): Promise<MigrationResult>;
  many(request: Omit<BatchRequest, 'strategy'>): Promise<BatchResult>;
}

function configuredStrategy(): Strategy {
  return readSetting(vscode.workspace.getConfiguration(SETTINGS_SECTION), 'strategy');
}

/**
 * `processMigrator.migrate` and `processMigrator.migrateTo`: (source?, destination?, options?).
 * The source is a process row, `{host, pid}` or an array of them; from a context menu on a
 * multi-selection VS Code passes (clicked row, selected rows), and the selection moves in one
 * request. Missing pieces are asked with pickers (the destination picker can change the strategy).
 * Resolves to the result (a BatchResult for several), or undefined when a picker was dismissed.
 */
export function registerMigration(context: vscode.ExtensionContext, deps: MigrationDeps): MigrationRunner {
  const migrate = async (source?: unknown, destination?: unknown, options: MigrateCommandOptions = {}) => {
    const selection = selectedRefs(source, destination);
    if (Array.isArray(destination)) destination = undefined; // it was the selection
    const refs = selection.length ? selection : [await pickProcess(deps.model)].filter((r): r is ProcessRef => r !== undefined);
    const [ref] = refs;
    if (!ref) return undefined;
    const choice = new StrategyChoice(options.strategy ?? configuredStrategy(), treeRssKiB(deps.model.host(ref.host)?.processes ?? [], ref.pid));
    const name = deps.model.findProcess(ref.host, ref.pid)?.name ?? `PID ${ref.pid}`;
    const what = refs.length > 1 ? `${refs.length} processes` : `${name} (PID ${ref.pid})`;
    // Early event request: the way to the highlighted host opens while the user decides.
    const ready = refs.length === 1 ? (host: string) => deps.engine.prepareRoute?.(ref.host, host) : undefined;
    const to = hostOf(destination) ?? (await pickDestination(deps.model, ref.host, `Migrate ${what} from ${ref.host} to…`, options.strategy ? undefined : choice, ready));
    if (!to) return undefined;
    if (to === BEST_HOST && refs.length > 1) {
      void vscode.window.showWarningMessage('The best host is chosen for one process at a time: pick a host to move several processes together.');
      return undefined;
    }
    if (refs.length === 1) return runMigration(deps, { pid: ref.pid, from: ref.host, to, strategy: choice.strategy }, options);
    const results: BatchResult[] = [];
    for (const from of new Set(refs.map((r) => r.host))) {
      if (from === to) continue; // already there
      const pids = refs.filter((r) => r.host === from).map((r) => r.pid);
      results.push(await runBatchMigration(deps, { pids, from, to, strategy: choice.strategy }, options));
    }
    return results.length === 1 ? results[0] : results;
  };
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.Migrate, migrate),
    vscode.commands.registerCommand(Commands.MigrateToBestHost, (source?: unknown, selection?: unknown) => migrate(Array.isArray(selection) ? selection : source, BEST_HOST)),
    vscode.commands.registerCommand(Commands.MigrateTo, migrate),
    vscode.commands.registerCommand(Commands.ShowLog, () => deps.log.show(true)),
  );
  return {
    one: (request) => runMigration(deps, { ...request, strategy: configuredStrategy() }),
    many: (request) => runBatchMigration(deps, { ...request, strategy: configuredStrategy() }),
  };
}
