// How the UI answers the SSH layer's questions: an unknown host key (modal with the fingerprint)
// and a key's passphrase (password input box, remembered in SecretStorage).
import * as vscode from 'vscode';
import type { HostKeyDecision, HostOptions, UnknownHostKey } from '../transport/host';

export const TRUST_ONCE = 'Trust Once';
export const TRUST_ALWAYS = 'Always Trust';

const PASSPHRASE_SECRET_PREFIX = 'processMigrator.passphrase:';

export type HostPrompts = Required<Pick<HostOptions, 'onUnknownHostKey' | 'askPassphrase'>>;

export function createHostPrompts(secrets: vscode.SecretStorage, log: vscode.LogOutputChannel): HostPrompts {
  // A stored passphrase is offered once per key and session; when the SSH layer asks again for the
  // same key, the stored one was wrong, so the user is asked.
  const offeredStored = new Set<string>();
  return {
    async onUnknownHostKey(key: UnknownHostKey): Promise<HostKeyDecision> {
      const where = key.port === 22 ? key.host : `${key.host}:${key.port}`;
      const choice = await vscode.window.showWarningMessage(
        `The authenticity of host ${where} can't be established.`,
        {
          modal: true,
          detail:
            `${key.keyType} key fingerprint is ${key.fingerprint}.\n\n` +
            `Compare it with the one the host's administrator gives you. "Always Trust" adds it to ${key.knownHostsFile}.`,
        },
        TRUST_ONCE,
        TRUST_ALWAYS,
      );
      const decision: HostKeyDecision = choice === TRUST_ALWAYS ? 'always' : choice === TRUST_ONCE ? 'once' : 'reject';
      log.info(`Host key of ${where} (${key.fingerprint}): ${decision}`);
      return decision;
    },

    async askPassphrase(keyFile: string): Promise<string | undefined> {
      const secretKey = PASSPHRASE_SECRET_PREFIX + keyFile;
      if (!offeredStored.has(keyFile)) {
        offeredStored.add(keyFile);
        const stored = await secrets.get(secretKey);
        if (stored !== undefined) return stored;
      } else {
        await secrets.delete(secretKey);
      }
      const passphrase = await vscode.window.showInputBox({
        title: 'SSH Key Passphrase',
        prompt: `Passphrase for ${keyFile} (kept in VS Code's secret storage)`,
        password: true,
        ignoreFocusOut: true,
      });
      if (passphrase !== undefined) await secrets.store(secretKey, passphrase);
      return passphrase;
    },
  };
}
