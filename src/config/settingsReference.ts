import { z } from 'zod';
import { settingsSchema } from './settingsSchema.js';

interface SettingRow {
  key: string;
  env: string;
  defaultValue: unknown;
  description: string;
}

/**
 * The README's settings table, generated from the schema so the two cannot drift apart
 * (a test compares them). Run `npm run settings:reference` to print it.
 */
export function settingsReferenceMarkdown(): string {
  const defaults = settingsSchema.parse({});
  const rows = collectRows(settingsSchema, [], defaults as Record<string, unknown>);
  const lines = ['| setting | environment variable | default | what it does |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(`| \`${row.key}\` | \`${row.env}\` | \`${JSON.stringify(row.defaultValue)}\` | ${row.description} |`);
  }
  return lines.join('\n');
}

function collectRows(schema: z.ZodType, path: string[], defaults: Record<string, unknown>): SettingRow[] {
  const object = unwrap(schema);
  if (!(object instanceof z.ZodObject)) return [];
  const rows: SettingRow[] = [];
  for (const [key, child] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    const childPath = [...path, key];
    const inner = unwrap(child);
    const value = defaults[key];
    if (inner instanceof z.ZodObject) {
      rows.push(...collectRows(child, childPath, value as Record<string, unknown>));
      continue;
    }
    rows.push({
      key: childPath.join('.'),
      env: `MEMBERLENS_${childPath.map(toSnake).join('__')}`,
      defaultValue: value,
      description: describe(child),
    });
  }
  return rows;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) inner = inner.unwrap() as z.ZodType;
  return inner;
}

function describe(schema: z.ZodType): string {
  const text = schema.description ?? unwrap(schema).description;
  const inner = unwrap(schema);
  const choices = inner instanceof z.ZodEnum ? `One of ${inner.options.map((o) => `\`${String(o)}\``).join(', ')}.` : '';
  return [text, choices].filter(Boolean).join('. ').replaceAll('|', '\\|') || '—';
}

function toSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
