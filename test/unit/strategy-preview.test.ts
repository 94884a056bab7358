// The destination picker's preview of `auto` says what the engine's chooseStrategy would pick.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseStrategy, PRE_COPY_MIN_RSS_KIB } from '../../src/migration/strategy';
import { predictAuto } from '../../src/ui/migrate/strategyPreview';

describe('predictAuto', () => {
  it('names the engine’s choice where both hosts support every strategy', () => {
    assert.equal(predictAuto(44 * 1024), 'stop-and-copy for 44.0 MiB');
    assert.equal(predictAuto(512 * 1024), 'pre-copy for 512.0 MiB where both hosts support it');
    for (const mib of [1, 127, 128, 129, 4096]) {
      const { strategy } = chooseStrategy({ requested: 'auto', rssKiB: mib * 1024 });
      assert.ok(predictAuto(mib * 1024)?.startsWith(`${strategy} for `), `${mib} MiB: ${strategy}`);
    }
    assert.match(predictAuto(PRE_COPY_MIN_RSS_KIB) ?? '', /^pre-copy/);
  });

  it('says nothing when the size is unknown', () => {
    assert.equal(predictAuto(undefined), undefined);
    assert.equal(predictAuto(0), undefined);
  });
});
