// The counter program the debug tests stop at a breakpoint, and how they read its count.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

/** The counter program; the breakpoint is on `return n` where the local `n` is the counter. */
export const PROGRAM = ['function step(n) {', '  return n;', '}', 'let counter = 0;', 'setInterval(() => step(++counter), 100);', ''].join('\n');
export const BREAKPOINT_LINE = 1; // zero-based: `  return n;`

export interface Stop {
  session: vscode.DebugSession;
  threadId: number;
}

/** Records every `stopped` event of every debug session into `stops`. */
export function trackStops(stops: Stop[]): vscode.Disposable {
  return vscode.debug.registerDebugAdapterTrackerFactory('*', {
    createDebugAdapterTracker: (session) => ({
      onDidSendMessage: (m: { type?: string; event?: string; body?: { threadId?: number } }) => {
        if (m.type === 'event' && m.event === 'stopped' && m.body?.threadId !== undefined) stops.push({ session, threadId: m.body.threadId });
      },
    }),
  });
}

/** Reads the local `n` of the top frame through DAP requests, as the Variables view does. */
export async function counterAt(stop: Stop): Promise<number> {
  const { stackFrames } = await stop.session.customRequest('stackTrace', { threadId: stop.threadId, startFrame: 0, levels: 1 });
  const { scopes } = await stop.session.customRequest('scopes', { frameId: stackFrames[0].id });
  const local = (scopes as { name: string; variablesReference: number }[]).find((s) => /local/i.test(s.name));
  assert.ok(local, `no Local scope in ${JSON.stringify(scopes)}`);
  const { variables } = await stop.session.customRequest('variables', { variablesReference: local.variablesReference });
  const n = (variables as { name: string; value: string }[]).find((v) => v.name === 'n');
  assert.ok(n, `no variable n in ${JSON.stringify(variables)}`);
  return Number(n.value);
}
