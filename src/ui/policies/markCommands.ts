// Allow Automatic Moves and Stop Automatic Moves: process rows (or a picked process, or a
// `{host, pid}` from another caller) marked for the policies, or no longer. Only marked processes
// are ever moved automatically.
import * as vscode from 'vscode';
import { Commands } from '../common/contributions';
import { pickProcess } from '../migrate/migrate';
import type { ProcessModel } from '../view/processModel';
import { selectedRefs, type ProcessRef } from '../view/processRefs';
import type { PidMark, PolicyMarks } from './policyMarks';
import { POLICIES_SETTING } from './policyText';

export interface MarkCommandDeps {
  model: ProcessModel;
  marks: PolicyMarks;
  /** Whether the setting has rules (a mark without them moves nothing, which is said). */
  hasRules: () => boolean;
}

/** Both commands take (row or `{host, pid}`, selected rows?) and resolve to the refs they changed. */
export function registerMarkCommands(context: vscode.ExtensionContext, deps: MarkCommandDeps): void {
  const { model, marks } = deps;
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.AllowAutomaticMoves, async (source?: unknown, selection?: unknown): Promise<ProcessRef[]> => {
      const refs = selectedRefs(source, selection);
      if (!refs.length) {
        const picked = await pickProcess(model, 'Allow Automatic Moves: pick the process');
        if (picked) refs.push(picked);
      }
      if (!refs.length) return [];
      // The command line it runs now: a PID reused later by another program is not marked.
      const added: PidMark[] = refs.map((r) => {
        const seen = model.findProcess(r.host, r.pid)?.command;
        return seen ? { ...r, seen } : { ...r };
      });
      await marks.allow(added);
      if (!deps.hasRules()) {
        void vscode.window.showInformationMessage(
          `${describe(refs)} may now be moved automatically, but no policy runs: add rules to the setting ${POLICIES_SETTING}.`,
        );
      }
      return refs;
    }),
    vscode.commands.registerCommand(Commands.DisallowAutomaticMoves, async (source?: unknown, selection?: unknown): Promise<ProcessRef[]> => {
      const refs = selectedRefs(source, selection);
      if (!refs.length) {
        const picked = await pickMark(marks.list());
        if (picked) refs.push(picked);
      }
      const bySetting = refs.filter((r) => !marks.list().some((m) => m.host === r.host && m.pid === r.pid));
      await marks.disallow(refs);
      if (bySetting.length) {
        void vscode.window.showInformationMessage(`${describe(bySetting)} ${bySetting.length === 1 ? 'is' : 'are'} marked in the setting ${POLICIES_SETTING} ("marked"): remove ${bySetting.length === 1 ? 'it' : 'them'} there.`);
      }
      return refs.filter((r) => !bySetting.includes(r));
    }),
  );
}

function describe(refs: readonly ProcessRef[]): string {
  return refs.map((r) => `PID ${r.pid} on ${r.host}`).join(', ');
}

async function pickMark(marks: readonly PidMark[]): Promise<ProcessRef | undefined> {
  if (!marks.length) {
    void vscode.window.showInformationMessage('No process of this workspace is marked for automatic moves.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    marks.map((m) => ({ label: `PID ${m.pid} on ${m.host}`, detail: m.seen, ref: { host: m.host, pid: m.pid } })),
    { title: 'Stop Automatic Moves' },
  );
  return pick?.ref;
}
