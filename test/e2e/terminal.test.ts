// Processes on a terminal, without one, and writing into a pipe whose reader stays behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, startDetached, stateOf, waitFor, useLab } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();

describe('terminals', () => {
  it('a read loop on a tmux pane on lab-a: typed input reaches it in a tmux session on lab-b, its count kept', async () => {
    const script = 'n=0; while read -r l; do n=$((n+1)); echo "got $n: $l"; done';
    // The shell keeps its script open, so the destination needs the same file.
    for (const h of [A, B]) await onHost(h, `printf '%s\\n' '${script}' > /tmp/e2e-readloop.sh`);
    await onHost(A, 'tmux kill-session -t e2e-term 2>/dev/null; tmux new-session -d -s e2e-term "sh /tmp/e2e-readloop.sh"');
    const pid = Number(await onHost(A, 'tmux list-panes -t e2e-term -F "#{pane_pid}"'));
    cleanup.push(() => kill(A, pid), () => kill(B, pid), () => onHost(A, 'tmux kill-session -t e2e-term 2>/dev/null; true').then(() => undefined));
    await onHost(A, 'tmux send-keys -t e2e-term one Enter');
    await waitFor(async () => (await onHost(A, 'tmux capture-pane -p -t e2e-term')).includes('got 1: one'));

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true, r.json.error);
    const session = `procmig-${pid}`;
    assert.deepEqual(r.json.terminal, { host: B, session, attach: ['tmux', 'attach', '-t', session] });
    cleanup.push(() => onHost(B, `tmux kill-session -t ${session} 2>/dev/null; true`).then(() => undefined));
    assert.ok(r.json.options.some((o: { option: string }) => o.option.startsWith('restore tmux new-session')));
    assert.equal(await stateOf(A, pid), 'gone');
    assert.equal(await stateOf(B, r.json.destinationPid), 'running');

    await onHost(B, `tmux send-keys -t ${session} two Enter`);
    await waitFor(async () => (await onHost(B, `tmux capture-pane -p -t ${session}`)).includes('got 2: two'));
  });

  it('a terminal process stays put with one sentence when the destination has no tmux', async () => {
    await onHost(A, 'tmux kill-session -t e2e-notmux 2>/dev/null; tmux new-session -d -s e2e-notmux "sh /tmp/e2e-readloop.sh"');
    const pid = Number(await onHost(A, 'tmux list-panes -t e2e-notmux -F "#{pane_pid}"'));
    cleanup.push(() => kill(A, pid), () => onHost(A, 'tmux kill-session -t e2e-notmux 2>/dev/null; true').then(() => undefined));
    // Only lab-b's mount namespace loses tmux.
    const tmux = await onHost(B, 'command -v tmux');
    await onHost(B, `mount --bind /dev/null ${tmux}`);
    try {
      // The helper runs under sh (dash), which finds no tmux now.
      assert.equal(await onHost(B, `sh -c 'command -v tmux || echo hidden'`), 'hidden');
      const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
      assert.notEqual(r.code, 0);
      assert.match(r.json.error, /lab-b has no tmux.*install tmux on lab-b/);
      assert.equal(await stateOf(A, pid), 'running');
    } finally {
      await onHost(B, `umount ${tmux}`);
    }
  });

  it('a process without a terminal (stdio on /dev/null and a file) still moves detached', async () => {
    const pid = await startDetached(A, `sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/e2e-notty; sleep 0.1; done'`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => Number(await onHost(A, 'cat /tmp/e2e-notty 2>/dev/null || echo 0')) > 0);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.terminal, undefined);
    assert.ok(r.json.options.some((o: { option: string }) => o.option === 'restore --restore-detached'));
    assert.equal(await stateOf(B, pid), 'running');
  });

  it('stdout into a pipe read by a process that stays on lab-a: its output goes to a file on lab-b, and it keeps running', async () => {
    const py = 'import time\ni=0\nwhile True:\n  i+=1; print(i, flush=True); time.sleep(0.1)\n';
    for (const h of [A, B]) await onHost(h, `printf '${py.replace(/\n/g, '\\n')}' > /tmp/e2e-pipewriter.py`);
    await onHost(A, `setsid sh -c "python3 -u /tmp/e2e-pipewriter.py | cat > /tmp/e2e-pipe-reader" </dev/null >/dev/null 2>&1 &`);
    let pid = 0;
    await waitFor(async () => (pid = Number(await onHost(A, 'pgrep -f "^[^ ]*python3 -u /tmp/e2e-pipewriter.py" | head -1') || 0)) > 0);
    const shell = Number(await onHost(A, `ps -o ppid= -p ${pid}`));
    cleanup.push(() => kill(A, shell), () => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => Number((await onHost(A, 'tail -n1 /tmp/e2e-pipe-reader 2>/dev/null')) || 0) > 2);

    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const sub = r.json.options.find((o: { option: string }) => /--inherit-fd fd\[\d\]:pipe:\[\d+\]/.test(o.option));
    assert.ok(sub, JSON.stringify(r.json.options));
    const file = /goes to (\S+)$/.exec(sub.reason)?.[1];
    assert.ok(file, sub.reason);
    const lastOnA = Number(await onHost(A, 'tail -n1 /tmp/e2e-pipe-reader'));
    await waitFor(async () => Number((await onHost(B, `tail -n1 ${file} 2>/dev/null`)) || 0) > lastOnA);
    assert.equal(await stateOf(B, pid), 'running');
    await onHost(B, `rm -f ${file}`);
  });
});
