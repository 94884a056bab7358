// Builds the host helper as the ONE file that is uploaded (and cached by its content hash):
// the parts of remote-helper/parts/ in the order of their numbers, each program of
// remote-helper/embedded/ put in place of its `NAME=@embedded/FILE@` line as a single-quoted
// sh string (no fork at run time), then the migration-ready launcher after the helper's last
// command, where `perl -x` finds it. esbuild.config.mjs writes it to dist/remote-helper/.
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The text of the helper built from the sources in `dir` (this remote-helper/). */
export function buildHelper(dir = here) {
  const parts = readdirSync(path.join(dir, 'parts')).filter((f) => /^\d\d-[a-z0-9-]+\.sh$/.test(f)).sort();
  if (!parts.length || !parts[0].startsWith('00-')) throw new Error(`remote-helper/parts/ has no 00- part to start the helper`);
  const sh = parts
    .map((part) =>
      readFileSync(path.join(dir, 'parts', part), 'utf8').replace(/^([A-Z_]+)=@embedded\/([A-Za-z0-9._-]+)@$/gm, (_, name, file) => {
        const program = readFileSync(path.join(dir, 'embedded', file), 'utf8').replace(/\n$/, '');
        return `${name}='${program.replaceAll("'", `'\\''`)}'`;
      }),
    )
    .join('\n');
  const left = /^.*@embedded\/.*$/m.exec(sh);
  if (left) throw new Error(`remote-helper/parts: an @embedded line that is not NAME=@embedded/FILE@: ${left[0]}`);
  // After the helper's `exit`, as a here-document sh never runs (so the whole file parses as sh);
  // perl -x starts at its `#!…perl` line and stops at __END__.
  const launcher = readFileSync(path.join(dir, 'migration-ready.pl'), 'utf8');
  if (/^(MIGRATION_READY|__END__)$/m.test(launcher)) throw new Error('remote-helper/migration-ready.pl has a line that ends its here-document early');
  return `${sh}# shellcheck disable=SC2317 # never run: the launcher, for perl -x\n: <<'MIGRATION_READY'\n${launcher}__END__\nMIGRATION_READY\n`;
}

/** Writes the helper to `outDir`/remote-helper/procmig-helper.sh; returns its path. Renamed into
 * place, so that a migration running meanwhile reads the old file or the new one, never half. */
export function writeHelper(outDir, dir = here) {
  const file = path.join(outDir, 'remote-helper', 'procmig-helper.sh');
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, buildHelper(dir));
  chmodSync(temp, 0o644);
  renameSync(temp, file);
  return file;
}

// `node remote-helper/build.mjs`: only the helper (what the unit tests need), into dist/.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeHelper(path.join(here, '..', 'dist'));
}
