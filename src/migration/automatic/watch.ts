// The policy daemon (`procmig watch`): measures the watched hosts, lists their marked processes,
// feeds both to the policy evaluator (policy.ts) and migrates what it says, one move at a time,
// with the same engine as every other move. Each move is reported with its trigger; a dry run
// reports what it would move and moves nothing.
import type { Engine, Policy, WatchOptions } from '../api';
import { sentenceFor } from '../errors';
import { evaluatePolicy, initialPolicyState, markedOn, processKey, type MarkedProcess } from './policy';



export type WatchEngine = Pick<Engine, 'hostStates' | 'listProcesses' | 'migrate'>;

/** Runs until `signal` aborts. */
export async function watchPolicy(engine: WatchEngine, policy: Policy, options: WatchOptions): Promise<void> {
  const { signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? pause;
  if (!engine.hostStates) throw new Error('This engine does not measure hosts, so it cannot watch them.');
  const hostStates = engine.hostStates.bind(engine);
  const hosts = [...new Set(policy.rules.map((r) => r.host))];
  // Marks by PID follow their process when it moves; patterns match wherever it runs.
  const marks = { ...policy, marked: [...policy.marked] };
  let state = initialPolicyState(policy);
  while (!signal?.aborted) {
    const t = now();
    try {
      const [samples, marked] = await Promise.all([hostStates(hosts, { fresh: true }), markedProcesses(engine, marks, hosts, options)]);
      const out = evaluatePolicy(marks, state, t, samples, marked);
      state = out.state;
      for (const move of out.moves) {
        if (signal?.aborted) break;
        if (options.dryRun) {
          options.onEvent({ kind: 'would-move', move });
          continue;
        }
        const result = await engine.migrate({ pid: move.pid, from: move.host, to: move.to, ...(move.candidates ? { candidates: move.candidates } : {}) }, { signal });
        result.trigger = move.trigger;
        if (result.ok && result.destinationPid !== undefined) {
          // Its minimum gap holds on its new host too, where another rule may watch it.
          state.lastMoved[processKey(result.to, result.destinationPid)] = t;
          marks.marked = marks.marked.map((m) => ('pid' in m && m.host === move.host && m.pid === move.pid ? { host: result.to, pid: result.destinationPid! } : m));
        }
        options.onEvent({ kind: 'moved', move, result });
      }
    } catch (err) {
      options.onProblem?.(sentenceFor(err));
    }
    await sleep((policy.pollSeconds ?? 10) * 1000, signal);
  }
}

async function markedProcesses(engine: WatchEngine, policy: Policy, hosts: string[], options: WatchOptions): Promise<MarkedProcess[]> {
  const perHost = await Promise.all(
    hosts.map(async (host) => {
      try {
        const processes = await engine.listProcesses(host);
        return markedOn(policy, host, processes, host === 'local' ? process.pid : undefined).map((p) => ({ host, pid: p.pid, name: p.name, cpu: p.cpu, rssKiB: p.rssKiB }));
      } catch (err) {
        options.onProblem?.(`Could not list the processes of ${host}: ${sentenceFor(err)}`);
        return [];
      }
    }),
  );
  return perHost.flat();
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
