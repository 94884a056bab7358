// How the UI answers the SSH layer's questions: an unknown host key (a modal with the fingerprint:
// trust once, always, or cancel, as Remote-SSH asks) and the passphrase of an encrypted key (a
// password input box that checks it, kept in SecretStorage only when the user says so).
import * as vscode from 'vscode';
import type { HostKeyDecision, HostOptions, PassphraseRequest, UnknownHostKey } from '../../transport/host';
import { askOncePerSession } from '../../transport/knownHosts';
import { tilde } from '../../common/paths';

export const TRUST_ONCE = 'Trust Once';
export const TRUST_ALWAYS = 'Trust Always';
export const REMEMBER = 'Remember';
export const MAX_PASSPHRASE_ATTEMPTS = 3;

const PASSPHRASE_SECRET_PREFIX = 'processMigrator.passphrase:';

export type HostPrompts = Required<Pick<HostOptions, 'onUnknownHostKey' | 'askPassphrase'>>;

/** The parts of `vscode.window` the prompts use; tests in the extension host script the modal,
 * which nothing there can click. */
export interface PromptWindow {
  /** A modal warning: the chosen item, or undefined for Cancel. */
  showModalWarning(message: string, detail: string, items: string[]): Thenable<string | undefined>;
  showInformationMessage(message: string, ...items: string[]): Thenable<string | undefined>;
  createInputBox(): vscode.InputBox;
}

export const vscodeWindow: PromptWindow = {
  showModalWarning: (message, detail, items) => vscode.window.showWarningMessage(message, { modal: true, detail }, ...items),
  showInformationMessage: (message, ...items) => vscode.window.showInformationMessage(message, ...items),
  createInputBox: () => vscode.window.createInputBox(),
};

export function passphraseSecretKey(keyFile: string): string {
  return PASSPHRASE_SECRET_PREFIX + keyFile;
}

export function createHostPrompts(
  secrets: vscode.SecretStorage,
  log: Pick<vscode.LogOutputChannel, 'info'>,
  window: PromptWindow = vscodeWindow,
): HostPrompts {
  const askingFor = new Map<string, Promise<string | undefined>>();
  const offeredToRemember = new Set<string>();

  const askHostKey = async (key: UnknownHostKey): Promise<HostKeyDecision> => {
    const address = key.port === 22 ? key.host : `${key.host}:${key.port}`;
    const where = key.name === key.host || key.name === address ? address : `${key.name} (${address})`;
    const choice = await window.showModalWarning(
      `The authenticity of host ${where} can't be established.`,
      `Its ${key.keyType} key fingerprint is ${key.fingerprint}.\n\n` +
        `Compare it with the one the host's administrator gives you. "${TRUST_ONCE}" trusts it until VS Code restarts; "${TRUST_ALWAYS}" adds it to ${tilde(key.knownHostsFile)}.`,
      [TRUST_ONCE, TRUST_ALWAYS],
    );
    const decision: HostKeyDecision = choice === TRUST_ALWAYS ? 'always' : choice === TRUST_ONCE ? 'once' : 'reject';
    log.info(`Host key ${key.keyType} ${key.fingerprint} of ${where}: ${decision}`);
    return decision;
  };

  const unlock = async ({ keyFile, unlocks }: PassphraseRequest): Promise<string | undefined> => {
    const secretKey = passphraseSecretKey(keyFile);
    const stored = await secrets.get(secretKey);
    if (stored !== undefined) {
      if (unlocks(stored)) return stored;
      await secrets.delete(secretKey); // the key got a new passphrase
      log.info(`The remembered passphrase no longer unlocks ${tilde(keyFile)}; forgot it.`);
    }
    const passphrase = await askUntilUnlocked(window, keyFile, unlocks);
    if (passphrase === undefined) {
      log.info(`${tilde(keyFile)} stays locked: no right passphrase given.`);
    } else if (!offeredToRemember.has(keyFile)) {
      // Not awaited: the connection goes on while the offer waits for an answer.
      offeredToRemember.add(keyFile);
      void window
        .showInformationMessage(`Remember the passphrase of ${tilde(keyFile)} in VS Code's secret storage, so you are not asked again?`, REMEMBER)
        .then(async (choice) => {
          if (choice !== REMEMBER) return;
          await secrets.store(secretKey, passphrase);
          log.info(`Remembered the passphrase of ${tilde(keyFile)} in the secret storage.`);
        });
    }
    return passphrase;
  };

  return {
    onUnknownHostKey: askOncePerSession(askHostKey),
    // Connections racing for the same key share one input box (a second one would close the first).
    askPassphrase(request) {
      let asking = askingFor.get(request.keyFile);
      if (!asking) {
        asking = unlock(request).finally(() => askingFor.delete(request.keyFile));
        askingFor.set(request.keyFile, asking);
      }
      return asking;
    },
  };
}

/** One password box that stays open while the user retries, checking each answer against the key;
 * undefined after Escape or the last wrong attempt. */
function askUntilUnlocked(window: PromptWindow, keyFile: string, unlocks: (passphrase: string) => boolean): Promise<string | undefined> {
  const box = window.createInputBox();
  box.title = 'SSH Key Passphrase';
  box.prompt = `Passphrase for ${tilde(keyFile)}`;
  box.password = true;
  box.ignoreFocusOut = true;
  let wrong = 0;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (passphrase: string | undefined) => {
      if (settled) return;
      settled = true;
      resolve(passphrase);
      box.dispose();
    };
    box.onDidHide(() => finish(undefined));
    box.onDidAccept(async () => {
      const passphrase = box.value;
      if (!passphrase) {
        box.validationMessage = 'Type the passphrase, or press Escape to skip this key.';
        return; // an Enter on an empty box is not a try
      }
      box.busy = true;
      box.enabled = false;
      await new Promise((r) => setTimeout(r, 0)); // let the box show it is busy: decrypting takes a moment
      const ok = unlocks(passphrase);
      box.busy = false;
      box.enabled = true;
      if (ok) return finish(passphrase);
      wrong++;
      if (wrong >= MAX_PASSPHRASE_ATTEMPTS) return finish(undefined);
      box.value = '';
      box.validationMessage = `Wrong passphrase, try again (${MAX_PASSPHRASE_ATTEMPTS - wrong} ${MAX_PASSPHRASE_ATTEMPTS - wrong === 1 ? 'try' : 'tries'} left).`;
    });
    box.show();
  });
}
