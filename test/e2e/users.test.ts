// A developer's account is not root: the lab's normal user `pmdev` (lab-a-dev, lab-b-dev) moves
// its own processes over SSH as itself. `procmig setup` (as root, once) gives a copy of CRIU the
// capabilities of its unprivileged mode; the helper finds it and runs CRIU as the user. Root here
// lacks CAP_SYS_RESOURCE, so sudo cannot dump the user's processes: the helper prefers the
// unprivileged mode even with sudo allowed. A user with neither is told what to configure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { helperScript } from '../../src/helper/hostHelper';
import { kill, onHost, procmig, repo, sharedDir, sshConfig, startDetached, startTicker, stateOf, tickerAdvances, useLab, waitFor } from './support/lab';
import { secondSshd } from './support/secondSshd';

const A = 'lab-a-dev';
const B = 'lab-b-dev';
const USER = 'pmdev';
const cleanup = useLab();

const asRoot = (host: 'lab-a' | 'lab-b', script: string) => onHost(host, script);
const count = async (host: string, file: string) => Number((await onHost(host, `cat ${file} 2>/dev/null || echo 0`)) || 0);

/** A Python counter kept in memory, written to a file of the host's own /tmp. */
function counter(file: string): string {
  return `python3 -c 'import time
n = 0
while True:
    n += 1; open("${file}", "w").write(str(n)); time.sleep(0.1)'`;
}

/** A Python counter of the user's on lab-a that appends each number to `log`, kept open. */
function startAppender(log: string): Promise<number> {
  return startDetached(A, `sh -c 'cd ~ && exec python3 -c "import time
f = open(\\"${log}\\", \\"a\\")
n = 0
while True:
    n += 1; f.write(str(n) + chr(10)); f.flush(); time.sleep(0.1)"'`);
}

describe('a normal user, not root', () => {
  it('procmig setup (as root) gives the user CRIU in its unprivileged mode, once; a second run changes nothing', async () => {
    for (const host of ['lab-a', 'lab-b']) {
      const r = await procmig(['setup', host, '--user', USER]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stderr, /^criu: 4\.2\.1, already installed/m);
      assert.match(r.stderr, /^unprivileged: (copied .* to |)\/usr\/local\/libexec\/process-migrator\/criu (is already a copy|\(group procmig only\))/m);
      assert.match(r.stderr, /^unprivileged: as pmdev, `criu check --unprivileged`: Looks good\./m);
    }
    const again = await procmig(['setup', 'lab-a', '--user', USER]);
    assert.match(again.stderr, /already a copy of/);
    assert.match(again.stderr, /pmdev is in group procmig/);
    assert.equal(await asRoot('lab-a', 'stat -c %U:%G:%a /usr/local/libexec/process-migrator/criu'), 'root:procmig:750');

    const check = await procmig(['check', A, B, '--json']);
    assert.equal(check.code, 0, check.stdout);
    for (const report of check.json) {
      assert.equal(report.capabilities.privilege, 'unprivileged');
      assert.equal(report.capabilities.user, USER);
      assert.equal(report.capabilities.imagesDir, '/var/tmp/process-migrator-1001');
    }
  });

  it("moves the user's own process as the user: its state continues on lab-b, the report says --unprivileged, the images were the user's and are gone", async () => {
    const file = '/tmp/pmdev-counter';
    const pid = await startDetached(A, `sh -c 'cd ~ && exec ${counter(file).replace(/'/g, `'\\''`)}'`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await count(A, file)) >= 5);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.json?.error ?? r.stderr);
    const options = (r.json.options as { option: string; reason: string }[]).map((o) => o.option);
    assert.ok(options.includes('dump --unprivileged') && options.includes('restore --unprivileged'), options.join(', '));
    assert.match(r.json.options.find((o: { option: string }) => o.option === 'dump --unprivileged').reason, /as pmdev, without root/);
    const moved = r.json.destinationPid as number;
    const before = await count(B, file);
    await waitFor(async () => (await count(B, file)) > before);
    assert.equal(await onHost(B, `stat -c %U /proc/${moved}`), USER);
    assert.equal(await stateOf(A, pid), 'gone');
    for (const host of [A, B]) {
      assert.equal(await onHost(host, 'stat -c %U:%a /var/tmp/process-migrator-1001; ls /var/tmp/process-migrator-1001 | grep -c "^img\\." || true'), `${USER}:700\n0`);
    }
  });

  it('a program on a terminal moves into a tmux session of the user on lab-b', async () => {
    const file = '/tmp/pmdev-tty-counter';
    const session = 'pmdev-e2e-tty';
    // Terminals held on lab-a first, so that its pty number differs from the pane's on lab-b.
    await onHost(A, 'for i in 1 2 3; do tmux new-session -d -s pmdev-e2e-filler-$i sleep 300; done');
    cleanup.push(() => onHost(A, 'for i in 1 2 3; do tmux kill-session -t =pmdev-e2e-filler-$i; done 2>/dev/null; true').then(() => undefined));
    await onHost(A, `tmux new-session -d -s ${session} -x 80 -y 24 "cd ~ && ${counter(file).replace(/"/g, '\\"')}"`);
    const pid = Number(await onHost(A, `tmux list-panes -t ${session} -F '#{pane_pid}'`));
    cleanup.push(() => onHost(A, `tmux kill-session -t ${session} 2>/dev/null; true`).then(() => undefined), () => kill(B, pid));
    await waitFor(async () => (await count(A, file)) >= 5);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.json?.error ?? r.stderr);
    assert.match(r.json.terminal.attach.join(' '), /tmux attach/);
    const before = await count(B, file);
    await waitFor(async () => (await count(B, file)) > before);
    assert.match(await onHost(B, 'tmux ls'), /^procmig-/m);
    await onHost(B, `tmux kill-session -t '${r.json.terminal.session ?? ''}' 2>/dev/null; true`).catch(() => undefined);
  });

  it('a log only on lab-a gets a new file of the user on lab-b (--inherit-fd), and the writes go on into it', async () => {
    const log = '/tmp/pmdev-e2e.log';
    const pid = await startAppender(log);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await onHost(B, `rm -f ${log}`);
    await waitFor(async () => Number((await onHost(A, `tail -n1 ${log} 2>/dev/null`)) || 0) >= 5);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.json?.error ?? r.stderr);
    assert.ok((r.json.options as { option: string }[]).some((o) => o.option.startsWith('restore --inherit-fd')));
    await waitFor(async () => Number((await onHost(B, `tail -n1 ${log} 2>/dev/null`)) || 0) > 0);
    assert.equal(await onHost(B, `stat -c %U ${log}`), USER);
  });

  it("a node --inspect program of the user moves, and its inspector answers on lab-b with the program's state", async () => {
    const port = 19339;
    const file = '/tmp/pmdev-node-counter';
    const pid = await startDetached(
      A,
      `sh -c 'cd ~ && exec node --inspect=127.0.0.1:${port} -e "let n = 0; setInterval(() => require(\\"fs\\").writeFileSync(\\"${file}\\", String(++n)), 100)"'`,
    );
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await onHost(A, `curl -s --max-time 2 http://127.0.0.1:${port}/json/version`).catch(() => '')) !== '');
    await waitFor(async () => (await count(A, file)) >= 5);
    const r = await procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
    assert.equal(r.code, 0, r.json?.error ?? r.stderr);
    assert.deepEqual(r.json.listeningPorts, [port]);
    await waitFor(async () => /"Browser"/.test(await onHost(B, `curl -s --max-time 2 http://127.0.0.1:${port}/json/version`).catch(() => '')));
    const before = await count(B, file);
    await waitFor(async () => (await count(B, file)) > before);
    assert.equal(await onHost(B, `stat -c %U /proc/${r.json.destinationPid}`), USER);
  });

  it('with passwordless sudo as well, where root lacks CAP_SYS_RESOURCE: the helper still picks unprivileged mode, and says why sudo would not do', async () => {
    // sudo comes from scripts/install-system-deps.sh (the hosts share this machine's packages).
    await asRoot('lab-a', `echo '${USER} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/procmig-e2e && chmod 0440 /etc/sudoers.d/procmig-e2e`);
    cleanup.push(() => asRoot('lab-a', 'rm -f /etc/sudoers.d/procmig-e2e').then(() => undefined));
    const check = await procmig(['check', A, '--json']);
    const caps = check.json[0].capabilities;
    assert.equal(caps.privilege, 'unprivileged');
    assert.equal(caps.sudoRlimits, false);
  });

  it('a restore through sudo (which closes descriptors above 2) still hands CRIU the files opened for --inherit-fd, and new ones are the user\'s', async () => {
    // Through the helper itself: here CRIU through sudo cannot dump the user's processes (root
    // lacks CAP_SYS_RESOURCE), so the dump is unprivileged on lab-a and only the restore on lab-b
    // goes through sudo (no criu with capabilities there: PROCMIG_UNPRIVILEGED_CRIU points nowhere).
    const helper = path.join(sharedDir('users-e2e'), 'helper.sh');
    writeFileSync(helper, helperScript().text);
    await asRoot('lab-b', `echo '${USER} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/procmig-e2e-restore && chmod 0440 /etc/sudoers.d/procmig-e2e-restore`);
    cleanup.push(() => asRoot('lab-b', 'rm -f /etc/sudoers.d/procmig-e2e-restore').then(() => undefined));
    const log = '/tmp/pmdev-sudo.log';
    const pid = await startAppender(log);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => Number((await onHost(A, `tail -n1 ${log} 2>/dev/null`)) || 0) >= 5);
    const dir = (await onHost(A, `sh ${helper} mkimages`)).replace(/^dir=/, '');
    await onHost(A, `cd ~ && sh ${helper} dump ${pid} ${dir}`);
    await onHost(B, `rm -f ${log}; sh ${helper} mkimages >/dev/null && mkdir -m 0700 ${dir}`);
    // The images travel through this machine, as the relay does.
    const images = execFileSync('ssh', ['-F', sshConfig, A, `sh ${helper} tar-out ${dir}`], { maxBuffer: 64 << 20 });
    execFileSync('ssh', ['-F', sshConfig, B, `sh ${helper} tar-in ${dir}`], { input: images });
    const out = await onHost(B, `cd ~ && PROCMIG_UNPRIVILEGED_CRIU=/nonexistent sh ${helper} caps | grep '^privilege='; PROCMIG_UNPRIVILEGED_CRIU=/nonexistent sh ${helper} restore ${dir} --file 4 ${log} --inherit-fd 'fd[4]:${log.slice(1)}'`);
    assert.match(out, /^privilege=sudo$/m);
    assert.match(out, new RegExp(`^pid=${pid}$`, 'm'));
    await waitFor(async () => Number((await onHost(B, `tail -n1 ${log} 2>/dev/null`)) || 0) > 0);
    assert.equal(await onHost(B, `stat -c %U ${log}; stat -c %U ${dir}/restore.log`), `${USER}\nroot`);
    await kill(A, pid);
    await onHost(B, `sh ${helper} rmimages ${dir}`);
    await onHost(A, `sh ${helper} rmimages ${dir}`);
  });

  it('a user with neither sudo nor CRIU for unprivileged mode is told exactly what to configure', async () => {
    const user = 'pmnone';
    await asRoot('lab-a', `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/sh ${user}; usermod -p '*' ${user}
      install -d -m 0700 -o ${user} -g ${user} /home/${user}/.ssh && echo '${readFileSync(path.join(repo, '.lab', 'id_ed25519.pub'), 'utf8').trim()}' >/home/${user}/.ssh/authorized_keys && chown ${user}: /home/${user}/.ssh/authorized_keys && chmod 0600 /home/${user}/.ssh/authorized_keys`);
    // lab-a-dev's entry, as that user.
    const block = /^Host lab-a-dev\n(?: {4}.*\n?)+/m.exec(readFileSync(sshConfig, 'utf8'))![0];
    const config = path.join(sharedDir('users-e2e'), 'ssh_config');
    writeFileSync(config, block.replace('Host lab-a-dev', 'Host lab-a-none').replace(`User ${USER}`, `User ${user}`));
    const r = await procmig(['check', 'lab-a-none', '--json'], { sshConfig: config });
    assert.equal(r.code, 1);
    assert.equal(r.json[0].capabilities.privilege, 'none');
    assert.deepEqual(r.json[0].problems, [
      'CRIU cannot run on lab-a-none as pmnone: run `procmig setup lab-a-none` once (with sudo, it gives a copy of CRIU the capabilities of its unprivileged mode, so it checkpoints your own processes without root), or connect as root, or allow passwordless sudo for criu there.',
    ]);
    const setup = await procmig(['setup', 'lab-a-none'], { sshConfig: config });
    assert.equal(setup.code, 2);
    assert.match(setup.stderr, /Setting up lab-a-none needs root once: connect as root/);
  });

  it('a host without CRIU: the preflight names procmig setup, which installs it there, and then a process moves to it', async () => {
    // lab-b as a host without CRIU: a second sshd of our own whose sessions see empty
    // /usr/local/sbin and /usr/local/libexec (a mount namespace of its own), so a CRIU installed
    // there lands only in that namespace. The lab has no network to download CRIU's source:
    // the build cache of the setup's own criu step (a build made earlier) stands in for it.
    const hide = 'mount -t tmpfs -o mode=0755 pm-no-criu /usr/local/sbin && mount -t tmpfs -o mode=0755 pm-no-criu /usr/local/libexec';
    const { config } = await secondSshd('lab-b', 'lab-b-nocriu', cleanup, {
      prepare: 'mkdir -p ~/.cache/process-migrator/criu-4.2.1 && cp /usr/local/sbin/criu ~/.cache/process-migrator/criu-4.2.1/criu',
      wrap: (sshd) => `unshare -m --propagation private sh -c '${hide} && exec ${sshd}'`,
    });
    const before = await procmig(['check', 'lab-b-nocriu', '--json'], { sshConfig: config });
    assert.deepEqual(before.json[0].problems, [
      'CRIU is not installed on lab-b-nocriu: run `procmig setup lab-b-nocriu` (Set Up Host… in VS Code), which installs CRIU 4.2+ there.',
    ]);
    const setup = await procmig(['setup', 'lab-b-nocriu'], { sshConfig: config });
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    assert.match(setup.stderr, /^criu: not installed; building 4\.2\.1 from Debian's source tarball/m);
    assert.match(setup.stderr, /^criu: installed 4\.2\.1 at \/usr\/local\/sbin\/criu$/m);
    assert.match(setup.stderr, /^unprivileged: copied \/usr\/local\/sbin\/criu to \/usr\/local\/libexec\/process-migrator\/criu/m);
    const after = await procmig(['check', 'lab-b-nocriu', '--json'], { sshConfig: config });
    assert.deepEqual(after.json[0].problems, []);
    assert.equal(after.json[0].capabilities.criuVersion, '4.2.1');

    const file = '/tmp/pm-nocriu-ticker';
    const pid = await startTicker('lab-a', file);
    cleanup.push(() => kill('lab-a', pid), () => kill('lab-b', pid));
    const r = await procmig(['migrate', String(pid), '--from', 'lab-a', '--to', 'lab-b-nocriu', '--json'], { sshConfig: config });
    assert.equal(r.code, 0, r.json?.error ?? r.stderr);
    assert.ok(await tickerAdvances('lab-b', file), 'the ticker counts on on lab-b');
  });
});
