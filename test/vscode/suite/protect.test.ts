// Protect… through the real engine: a counter on lab-c (the lab's small host, which no other
// suite uses) is checkpointed to lab-b while it counts on; lab-c crashes; the extension asks
// whether to restore it there, in the words the issue gives, and once told yes the counter runs
// on lab-b from at least what it had counted at its newest checkpoint. The status bar shield
// goes once protection ends.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { ProtectEvent } from '../../../src/automatic/protect';
import { Commands } from '../../../src/ui/common/contributions';
import { activeApi, labSsh, runsOn, until } from './helpers';
import { describeWithLab } from './lab';

const labConfig = process.env.PM_LAB_SSH_CONFIG;
// The suite runs bundled from <repo>/dist/test/vscode/suite.
const repo = resolve(__dirname, '..', '..', '..', '..');
const lab = (...args: string[]) => execFileSync('sh', [join(repo, 'scripts', 'lab.sh'), ...args], { stdio: 'ignore', timeout: 120_000 });
const PORT = 47841;
const COUNTER = `node -e 'let n = 0; setInterval(() => n++, 100); require("http").createServer((q, r) => r.end(String(n))).listen(${PORT}, "127.0.0.1")'`;
const count = async (host: string) => Number(await labSsh(host, `curl -s --max-time 3 http://127.0.0.1:${PORT}/ || echo 0`)) || 0;

describeWithLab('Protect… (lab-c → standby lab-b, lab-c crashes)', function () {
  this.timeout(300_000);
  let pid = 0;
  let restored = 0;

  before(async () => {
    await vscode.workspace.getConfiguration('processMigrator').update('sshConfigFile', labConfig, vscode.ConfigurationTarget.Workspace);
    pid = Number(await labSsh('lab-c', `{ setsid ${COUNTER} </dev/null >/dev/null 2>&1 & echo $!; }`));
    await until('the counter to answer on lab-c', async () => ((await count('lab-c')) > 0 ? true : undefined));
  });

  after(async () => {
    if (restored) await labSsh('lab-b', `kill -KILL ${restored}`).catch(() => undefined);
    await labSsh('lab-c', `kill -KILL ${pid}`).catch(() => undefined);
    try {
      lab('boot', 'lab-c'); // should the test have stopped between the crash and the boot
    } catch {
      // it runs already
    }
  });

  it('checkpoints to lab-b, asks when lab-c is lost, and the counter counts on there from its checkpoint', async () => {
    await activeApi();
    const events: ProtectEvent[] = [];
    const questions: string[] = [];
    const started = await vscode.commands.executeCommand<{ standby: string } | undefined>(Commands.Protect, { host: 'lab-c', pid }, {
      standby: 'lab-b',
      everyS: 2,
      failover: 'ask',
      lostAfterS: 3,
      onEvent: (e: ProtectEvent) => events.push(e),
      confirm: async (question: string) => (questions.push(question), true),
    });
    assert.equal(started?.standby, 'lab-b');
    const checkpoints = () => events.filter((e) => e.event === 'checkpoint' && e.ok).length;
    await until('a first checkpoint', () => (checkpoints() >= 1 ? true : undefined), 60_000);
    assert.ok(await runsOn('lab-c', pid), 'a checkpoint leaves it running');
    const before = await count('lab-c');
    const seen = checkpoints();
    await until('the next checkpoint', () => (checkpoints() > seen ? true : undefined), 60_000);

    lab('crash', 'lab-c');
    const failover = await until('the failover', () => events.find((e) => e.event === 'failover'), 60_000);
    assert.ok(failover.event === 'failover' && failover.ok, JSON.stringify(events));
    restored = failover.pid!;
    assert.match(questions[0], /^lab-c has not answered for 3 s: restore process \d+ from its .+ checkpoint on lab-b\?$/);
    const onB = await count('lab-b');
    assert.ok(onB >= before, `restored from the newest checkpoint: ${onB} ≥ ${before}`);
    await until('the counter to count on on lab-b', async () => ((await count('lab-b')) > onB ? true : undefined));

    lab('boot', 'lab-c');
    const back = await until('lab-c to answer again', () => events.find((e) => e.event === 'returned'), 60_000);
    assert.ok(back.event === 'returned' && back.copy === 'gone');
    assert.equal(await labSsh('lab-c', `pgrep -f 'listen\\(${PORT}' || true`), '', 'nothing else runs on lab-c');
  });
});
