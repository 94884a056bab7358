// The helper's `key=value` lines, read by one parser for capabilities, inspection, CRIU results,
// `run` and the page tunnel's services.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyValues } from '../../src/helper/hostHelper';

describe('parseKeyValues', () => {
  it('reads key=value lines around other output; the value keeps its own "=", later keys win', () => {
    const text = ['port=40123', 'socket=/var/tmp/pm/x/page.sock', 'ready 40123 4242', 'opts=a=1,b=2', 'port=40124', ''].join('\n');
    assert.deepEqual(parseKeyValues(text), { port: '40124', socket: '/var/tmp/pm/x/page.sock', opts: 'a=1,b=2' });
  });

  it('skips lines without a key and tab-separated records', () => {
    assert.deepEqual(parseKeyValues('=nokey\nfd\t3=pipe:[1]\nbytes=0'), { bytes: '0' });
  });
});
