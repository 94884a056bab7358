// Bundles the extension and the CLI. Both are CommonJS for Node 20+: the extension host loads
// `main` with require(), and one format keeps the CLI and the extension on identical engine code.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { writeHelper } from './remote-helper/build.mjs';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'info',
  // ssh2's optional native helper (cpu-features) and its compiled crypto binding are loaded
  // inside try/catch; leave them unresolved so the bundle falls back to pure JavaScript.
  external: ['vscode', 'cpu-features', '*.node'],
  loader: { '.sh': 'text' },
};

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/procmig.js', banner: { js: '#!/usr/bin/env node' } },
  // The mocha suite VS Code's extension host runs (test/vscode/run.ts, npm run test:electron);
  // mocha stays external and resolves from the repository's node_modules.
  {
    ...common,
    entryPoints: ['test/vscode/suite/index.ts'],
    outfile: 'dist/test/vscode/suite/index.js',
    external: [...common.external, 'mocha'],
  },
];

// The host helper, one file built from remote-helper/parts/ (found by remoteHelperFile()).
writeHelper('dist');

for (const options of builds) {
  if (watch) await (await esbuild.context(options)).watch();
  else await esbuild.build(options);
}

// ssh2 loads its compiled crypto binding from `./crypto/build/Release/` next to the bundle when
// it is there: a copy doubles the relay's throughput (bench/throughput.ts). Not packaged (the
// extension host's ABI differs); where it is missing or will not load, ssh2 uses Node's crypto.
const binding = 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node';
if (existsSync(binding)) {
  mkdirSync('dist/crypto/build/Release', { recursive: true });
  copyFileSync(binding, 'dist/crypto/build/Release/sshcrypto.node');
}
