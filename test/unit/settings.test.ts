import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/loadSettings.js';
import { settingsReferenceMarkdown } from '../../src/config/settingsReference.js';
import { ConfigError } from '../../src/core/errors.js';

function configDir(local?: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-settings-'));
  if (local !== undefined) writeFileSync(path.join(dir, 'local.json'), typeof local === 'string' ? local : JSON.stringify(local));
  return dir;
}

describe('settings', () => {
  it('runs on the defaults with nothing configured', () => {
    const s = loadSettings({ configDir: configDir(), env: {} });
    expect(s.dataDir).toBe('data');
    expect(s.matching).toEqual({ matchMarginMin: 0.1, falseNamingPerVisit: 0.0001, minNameableTrueAcceptRate: 0.5, facesTooAlikeDistance: 0.15, facesPerMemberMax: 5 });
    expect(s.vision.enrollGate.minFaceSizePx).toBeGreaterThan(s.vision.liveGate.minFaceSizePx);
  });

  it('layers local.json, then MEMBERLENS_* variables, then overrides', () => {
    const dir = configDir({ matching: { falseNamingPerVisit: 0.00001 }, vision: { liveGate: { maxYawDeg: 25 } } });
    const s = loadSettings({
      configDir: dir,
      env: { MEMBERLENS_MATCHING__MATCH_MARGIN_MIN: '0.2', MEMBERLENS_VISION__BACKEND: 'cpu', MEMBERLENS_FACE_KEY: 'x' },
      overrides: { dataDir: '/srv/memberlens' },
    });
    expect(s.matching).toEqual({ falseNamingPerVisit: 0.00001, matchMarginMin: 0.2, minNameableTrueAcceptRate: 0.5, facesTooAlikeDistance: 0.15, facesPerMemberMax: 5 });
    expect(s.vision.liveGate.maxYawDeg).toBe(25);
    expect(s.vision.liveGate.minFaceSizePx).toBe(48);
    expect(s.vision.backend).toBe('cpu');
    expect(s.dataDir).toBe('/srv/memberlens');
  });

  it('reports every bad key of a file in one error', () => {
    const dir = configDir({ matching: { falseNamingPerVisit: 'loose', matchMarginMin: -1 }, vision: { backend: 'gpu' }, colour: 'red' });
    let error: unknown;
    try {
      loadSettings({ configDir: dir, env: { MEMBERLENS_NO_SUCH: '1' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const part of ['matching.falseNamingPerVisit', 'matching.matchMarginMin', 'vision.backend', 'colour', 'MEMBERLENS_NO_SUCH']) {
      expect(message).toContain(part);
    }
    expect(message).toMatch(/5 problems/);
  });

  it('names a file that is not JSON', () => {
    const dir = configDir('{ "dataDir": ');
    expect(() => loadSettings({ configDir: dir, env: {} })).toThrow(/local\.json: not valid JSON/);
  });

  it('README settings reference matches the schema (regenerate with npm run settings:reference)', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(settingsReferenceMarkdown());
  });
});

describe('shipped settings files', () => {
  it('config/default.json is exactly the built-in defaults (regenerate it when a default changes)', () => {
    const shipped = JSON.parse(readFileSync('config/default.json', 'utf8'));
    expect(shipped).toEqual(loadSettings({ configDir: configDir(), env: {} }));
  });

  it('config/example-store.json is valid', () => {
    const s = loadSettings({ configDir: configDir(), env: { MEMBERLENS_CONFIG: path.resolve('config/example-store.json') } });
    expect(s.lanes.map((l) => l.id)).toEqual(['lane-1', 'lane-2', 'self-checkout']);
  });
});
