// Paths for people.
import { homedir } from 'node:os';

/** `/root/.ssh/id_ed25519` → `~/.ssh/id_ed25519`: paths under the home directory, shortened in messages. */
export function tilde(file: string, home = homedir()): string {
  return file.startsWith(home + '/') ? '~' + file.slice(home.length) : file;
}
