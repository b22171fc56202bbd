import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { settingsSchema, type Settings } from './settingsSchema.js';

/** Environment variables with this prefix override settings; `__` separates levels. */
const ENV_PREFIX = 'MEMBERLENS_';
/** Variables that share the prefix but are secrets or pointers, not settings. */
const NON_SETTING_ENV = new Set(['MEMBERLENS_FACE_KEY', 'MEMBERLENS_CONFIG']);

export interface LoadSettingsOptions {
  /** Folder holding default.json and local.json; default `./config`. */
  configDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest-priority overrides, e.g. from CLI flags. */
  overrides?: Record<string, unknown>;
}

/**
 * Settings come from, lowest to highest priority: the schema's defaults, `config/default.json`,
 * `config/local.json` (or the file named by MEMBERLENS_CONFIG), MEMBERLENS_* environment
 * variables, then explicit overrides. Everything wrong is reported in ONE error, so a store
 * owner fixes the file once instead of restarting once per mistake.
 */
export function loadSettings(options: LoadSettingsOptions = {}): Settings {
  const env = options.env ?? process.env;
  const configDir = options.configDir ?? path.resolve('config');
  const problems: string[] = [];
  const layers: Record<string, unknown>[] = [];

  const localFile = env.MEMBERLENS_CONFIG ?? path.join(configDir, 'local.json');
  for (const file of [path.join(configDir, 'default.json'), localFile]) {
    if (!existsSync(file)) continue;
    const layer = readJsonObject(file, problems);
    if (layer) layers.push(layer);
  }
  layers.push(envLayer(env, problems));
  if (options.overrides) layers.push(options.overrides);

  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer), {});
  const result = settingsSchema.safeParse(merged);
  if (!result.success) problems.push(...result.error.issues.map(describeIssue));
  if (problems.length > 0) {
    throw new ConfigError(
      `Settings are invalid (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nFix ${localFile} or the MEMBERLENS_* environment variables; the README lists every setting.`,
    );
  }
  return result.data!;
}

function readJsonObject(file: string, problems: string[]): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`${file}: not valid JSON (${(err as Error).message})`);
    return undefined;
  }
  if (!isPlainObject(parsed)) {
    problems.push(`${file}: must hold a JSON object`);
    return undefined;
  }
  return parsed;
}

/** MEMBERLENS_MATCHING__MATCH_MARGIN_MIN=0.2 → { matching: { matchMarginMin: 0.2 } }. */
function envLayer(env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_SETTING_ENV.has(name) || raw === undefined) continue;
    const keyPath = resolveEnvPath(name.slice(ENV_PREFIX.length).split('__'));
    if (!keyPath) {
      problems.push(`${name}: no such setting`);
      continue;
    }
    let target = layer;
    for (const key of keyPath.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keyPath.at(-1)!] = parseEnvValue(raw);
  }
  return layer;
}

/** Match each SNAKE_CASE segment to the schema's camelCase key at that level. */
function resolveEnvPath(segments: string[]): string[] | undefined {
  const keyPath: string[] = [];
  let shape: Record<string, z.ZodType> | undefined = settingsSchema.shape;
  for (const segment of segments) {
    if (!shape) return undefined;
    const wanted = segment.replaceAll('_', '').toLowerCase();
    const key = Object.keys(shape).find((k) => k.toLowerCase() === wanted);
    if (!key) return undefined;
    keyPath.push(key);
    shape = objectShape(shape[key]!);
  }
  return keyPath;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let inner: z.ZodType = schema;
  // Defaults and prefaults wrap the object; unwrap until the object itself.
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>) : undefined;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  return `${where}: ${issue.message}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}
