// package.json against src/ui/common/contributions.ts, host-free: the settings with the same defaults,
// the debug menus for every debug type the extension can move, and context keys that a `when` uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEBUG_TYPES, fullSettingKey, SETTING_DEFAULTS, type SettingKey } from '../../src/ui/common/contributions';

interface Manifest {
  contributes: {
    configuration: { properties: Record<string, { default: unknown }> };
    menus: Record<string, { command: string; when?: string }[]>;
  };
}

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Manifest;

/** Every `when` clause of package.json (menus, and `enablement` of commands). */
function whenClauses(): string[] {
  const clauses: string[] = [];
  JSON.stringify(manifest, (key, value: unknown) => {
    if ((key === 'when' || key === 'enablement') && typeof value === 'string') clauses.push(value);
    return value;
  });
  return clauses;
}

/** The regular expression of `debugType =~ /…/` in a `when` clause. */
function debugTypePattern(when: string): RegExp {
  const match = /debugType =~ \/(.*?)\/(\s|$)/.exec(when);
  assert.ok(match, `no debugType match in "${when}"`);
  return new RegExp(match[1]);
}

describe('package.json and contributions.ts', () => {
  it('contribute every setting the extension reads, with the same default', () => {
    const properties = manifest.contributes.configuration.properties;
    for (const key of Object.keys(SETTING_DEFAULTS) as SettingKey[]) {
      const property = properties[fullSettingKey(key)];
      assert.ok(property, `setting ${key} is not contributed`);
      assert.deepEqual(property.default, SETTING_DEFAULTS[key], `setting ${key}: package.json and SETTING_DEFAULTS disagree`);
    }
    assert.deepEqual(Object.keys(properties).sort(), (Object.keys(SETTING_DEFAULTS) as SettingKey[]).map(fullSettingKey).sort());
  });

  it('offer Migrate Debug Session on the call stack and the debug toolbar for Node.js and Python (debugpy) sessions alone', () => {
    const supported = Object.values(DEBUG_TYPES).flat();
    assert.ok(supported.includes('debugpy') && supported.includes('pwa-node'));
    for (const menu of ['debug/callstack/context', 'debug/toolBar']) {
      const entry = manifest.contributes.menus[menu]?.find((m) => m.command === 'processMigrator.migrateDebugSession');
      assert.ok(entry?.when, `${menu} has no Migrate Debug Session entry`);
      const pattern = debugTypePattern(entry.when);
      for (const type of supported) assert.ok(pattern.test(type), `${menu} does not match debug type ${type}`);
      for (const type of ['chrome', 'pwa-chrome', 'go', 'cppdbg', 'nodes', 'xpython']) assert.ok(!pattern.test(type), `${menu} matches debug type ${type}`);
    }
  });

  it('set only context keys that a when clause uses', () => {
    const clauses = whenClauses();
    // ContextKeys is a const enum, which has no object to list at run time: read its declaration.
    const source = readFileSync(new URL('../../src/ui/common/contributions.ts', import.meta.url), 'utf8');
    const declaration = /export const enum ContextKeys \{([^}]*)\}/.exec(source)?.[1] ?? '';
    const keys = [...declaration.matchAll(/=\s*'([^']+)'/g)].map((m) => m[1]);
    assert.ok(keys.length >= 1, 'no context keys found in contributions.ts');
    for (const key of keys) {
      assert.ok(clauses.some((w) => w.includes(key)), `context key ${key} is set but no when clause uses it`);
    }
  });
});
