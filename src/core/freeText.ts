import { UserError } from './errors.js';

/**
 * Control characters (C0 incl. NUL, DEL, C1) and bidi controls (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069). A NUL cuts the text short in SQLite's length() and in C
 * tools; a bidi control makes a name read differently on the till than it was typed.
 */
const FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, 'gu');

/**
 * What is wrong with a piece of free text (a name, a staff name, a label), as a sentence the
 * person who typed it can act on; undefined when it is fine.
 */
export function freeTextProblem(text: string): string | undefined {
  const found = FORBIDDEN.exec(text);
  if (!found) return undefined;
  const code = found[0].codePointAt(0)!;
  const kind = code <= 0x9f ? 'a control character' : 'a bidirectional-control character';
  return `contains ${kind} (U+${code.toString(16).toUpperCase().padStart(4, '0')}); remove it and send plain text`;
}

/** Free text as it is stored: checked, trimmed and NFC-normalized, so "é" is one character however it was typed. */
export function cleanFreeText(text: string, field: string): string {
  const problem = freeTextProblem(text);
  if (problem) throw new UserError(`${field} ${problem}.`, 'invalid-input');
  return text.trim().normalize('NFC');
}

/**
 * Text quoted back to a person (an id from a URL in an error message): each forbidden
 * character written out as \uXXXX, so the message reads the same on every screen.
 */
export function escapeControls(text: string): string {
  return text.replace(FORBIDDEN_ALL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
