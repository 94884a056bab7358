// Unknown host keys and passphrase-protected keys, against a real sshd nobody trusts yet
// (test/vscode/throwawaySshd.ts), through the real engine and the extension's prompts. The modal
// cannot be clicked from the extension host, so its answer is scripted here (Playwright clicks the
// real one: test/vscode/uiHostTrust.ts); the passphrase box is the real VS Code input box, typed
// into by setting its value and accepted with the workbench's own accept command.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import type { Engine } from '../../../src/migration/api';
import { createEngine } from '../../../src/migration/engine';
import { hashHostName } from '../../../src/transport/knownHosts';
import { createHostPrompts, passphraseSecretKey, REMEMBER, TRUST_ALWAYS, TRUST_ONCE, vscodeWindow, type PromptWindow } from '../../../src/ui/hosts/hostPrompts';
import { openSshFinds, startThrowawaySshd, type ThrowawaySshd } from '../throwawaySshd';
import { alive, spawnMarker, until } from './helpers';

/** SecretStorage kept in memory: the real one belongs to the extension's own context. */
class MemorySecrets implements vscode.SecretStorage {
  readonly values = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.SecretStorageChangeEvent>();
  readonly onDidChange = this.changed.event;
  async get(key: string) {
    return this.values.get(key);
  }
  async store(key: string, value: string) {
    this.values.set(key, value);
    this.changed.fire({ key });
  }
  async delete(key: string) {
    this.values.delete(key);
    this.changed.fire({ key });
  }
}

interface Script {
  /** What the modal answers (undefined: Cancel). */
  modal?: string;
  /** What the "remember?" notification answers. */
  remember?: string;
}

/** The real window, except that the modal and the remember offer answer from `script`. */
function scriptedWindow(script: Script) {
  const asked = { modals: [] as { message: string; detail: string; items: string[] }[], infos: [] as string[], boxes: [] as vscode.InputBox[] };
  const window: PromptWindow = {
    showModalWarning: async (message, detail, items) => (asked.modals.push({ message, detail, items }), script.modal),
    showInformationMessage: async (message) => (asked.infos.push(message), script.remember),
    createInputBox: () => {
      const box = vscodeWindow.createInputBox();
      asked.boxes.push(box);
      return box;
    },
  };
  return { window, asked };
}

/** Types `text` into the open passphrase box and presses Enter, as the workbench does. */
async function answer(box: vscode.InputBox, text: string): Promise<void> {
  box.value = text;
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
}

describe('Host trust and key passphrases (a real sshd with an unknown key)', function () {
  this.timeout(120_000);
  let sshd: ThrowawaySshd;
  const engines: Engine[] = [];
  const log = { info: (_line: string) => undefined };

  const engineWith = (window: PromptWindow, secrets = new MemorySecrets()) => {
    const engine = createEngine({ ...createHostPrompts(secrets, log, window), sshConfigFile: sshd.sshConfig });
    engines.push(engine);
    return engine;
  };

  before(async () => {
    delete process.env.SSH_AUTH_SOCK; // only the test's own key
    sshd = await startThrowawaySshd(['cancelled', 'hashed', 'locked']);
  });

  after(async () => {
    await Promise.allSettled(engines.map((e) => e.dispose()));
    await sshd?.stop();
  });

  it('Cancel on the unknown-key modal: one sentence, nothing recorded, nothing migrated', async () => {
    const { window, asked } = scriptedWindow({ modal: undefined });
    const engine = engineWith(window);
    const report = await engine.checkHost('cancelled');
    assert.equal(report.reachable, false);
    const sentence = `Not connected to cancelled (127.0.0.1:${sshd.port}): its ssh-ed25519 host key ${sshd.hostFingerprint} was not trusted.`;
    assert.equal(report.problems[0], sentence);
    assert.equal(asked.modals.length, 1);
    assert.equal(asked.modals[0]!.message, `The authenticity of host cancelled (127.0.0.1:${sshd.port}) can't be established.`);
    assert.ok(asked.modals[0]!.detail.includes(`ssh-ed25519 key fingerprint is ${sshd.hostFingerprint}`), asked.modals[0]!.detail);
    assert.deepEqual(asked.modals[0]!.items, [TRUST_ONCE, TRUST_ALWAYS]);
    assert.equal(asked.boxes.length, 0, 'no passphrase is asked for a host that is not trusted');

    const marker = spawnMarker('pmtest-trust');
    try {
      const result = await engine.migrate({ pid: marker.pid!, from: 'local', to: 'cancelled' });
      assert.equal(result.ok, false);
      assert.ok(result.error?.includes(sentence), result.error);
      assert.ok(alive(marker.pid!), 'the process still runs here');
    } finally {
      marker.kill('SIGKILL');
    }
    assert.equal(asked.modals.length, 2, 'asked again: a cancel is not remembered');
    assert.ok(!existsSync(dirname(sshd.knownHosts('cancelled'))), 'nothing written');
  });

  it('Trust Always keeps a hashed known_hosts hashed; a wrong passphrase is asked again in the same box; Remember stores it', async () => {
    const known = sshd.knownHosts('hashed');
    mkdirSync(dirname(known), { recursive: true, mode: 0o700 });
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    writeFileSync(known, `${hashHostName('elsewhere.example')} ${other}\n`, { mode: 0o600 });
    const secrets = new MemorySecrets();
    const { window, asked } = scriptedWindow({ modal: TRUST_ALWAYS, remember: REMEMBER });
    const checked = engineWith(window, secrets).checkHost('hashed');

    const box = await until('the passphrase box', () => asked.boxes[0]);
    assert.equal(box.password, true);
    assert.equal(box.prompt, `Passphrase for ${sshd.identityFile}`);
    await answer(box, 'not the passphrase');
    const message = await until('the wrong-passphrase message', () => box.validationMessage);
    assert.match(String(message), /^Wrong passphrase, try again \(2 tries left\)\.$/);
    assert.equal(box.value, '', 'the wrong answer is cleared');
    await answer(box, sshd.passphrase);

    const report = await checked;
    assert.equal(report.reachable, true, report.problems.join(' '));
    assert.equal(asked.boxes.length, 1, 'one box for all tries');
    const lines = readFileSync(known, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^\|1\|\S+ ssh-ed25519 /, 'hashed like the line before it');
    assert.ok(await openSshFinds(known, sshd.port, sshd.hostKey), 'ssh-keygen -F finds the new line');
    assert.equal(statSync(known).mode & 0o777, 0o600);
    await until('the remembered passphrase', () => secrets.values.get(passphraseSecretKey(sshd.identityFile)) === sshd.passphrase || undefined);
    assert.deepEqual(asked.infos, [`Remember the passphrase of ${sshd.identityFile} in VS Code's secret storage, so you are not asked again?`]);

    // A new session: the key is known and the passphrase remembered, so nothing is asked.
    const again = scriptedWindow({});
    const second = await engineWith(again.window, secrets).checkHost('hashed');
    assert.equal(second.reachable, true, second.problems.join(' '));
    assert.deepEqual([again.asked.modals.length, again.asked.boxes.length], [0, 0]);
  });

  it('Three wrong passphrases: the key stays locked and the check says so in one sentence; Trust Once records nothing', async () => {
    const secrets = new MemorySecrets();
    await secrets.store(passphraseSecretKey(sshd.identityFile), 'an old passphrase');
    const { window, asked } = scriptedWindow({ modal: TRUST_ONCE });
    const checked = engineWith(window, secrets).checkHost('locked');
    const box = await until('the passphrase box', () => asked.boxes[0]);
    assert.equal(secrets.values.size, 0, 'a remembered passphrase that no longer works is forgotten');
    for (let i = 0; i < 3; i++) {
      await until(`try ${i + 1}`, () => (box.value === '' && !box.busy) || undefined);
      await answer(box, `wrong ${i}`);
      if (i < 2) await until('the wrong-passphrase message', () => String(box.validationMessage ?? '').includes(`${2 - i} tr`) || undefined);
    }
    const report = await checked;
    assert.equal(report.reachable, false);
    assert.match(report.problems[0] ?? '', /^Authentication as root on locked \(127\.0\.0\.1:\d+\) failed: \S+id_locked is passphrase-protected and stayed locked; type its passphrase when asked, or load it into ssh-agent with ssh-add\.$/);
    assert.ok(!report.problems[0]!.includes('\n'));
    assert.equal(asked.infos.length, 0, 'nothing to remember');
    assert.ok(!existsSync(sshd.knownHosts('locked')), 'Trust Once writes nothing');
  });
});
