// Entry point VS Code's extension host loads as `extensionTestsPath`: runs the mocha suite there.
// Bundled by esbuild (esbuild.config.mjs) to dist/test/vscode/suite/index.js; mocha stays external.
// PM_TEST_GREP (in the environment of the server or VS Code) limits the run to matching tests.
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 60_000, slow: 5_000 });
  if (process.env.PM_TEST_GREP) mocha.grep(process.env.PM_TEST_GREP);
  // The test files are bundled into this file: define describe/it first, then load them.
  mocha.suite.emit('pre-require', globalThis, __filename, mocha);
  require('./extension.test');
  require('./view.test');
  require('./picker.test');
  require('./hosts.test');
  require('./report.test');
  require('./migrate.test');
  require('./users.test');
  require('./ports.test');
  require('./multi.test');
  require('./evacuate.test');
  require('./protect.test');
  require('./policy.test');
  require('./debug.test');
  require('./terminal.test');
  require('./migration-ready.test');
  require('./host-trust.test');
  require('./tracer.test');
  require('./connection.test');
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} test(s) failed.`)) : resolve()));
  });
}
