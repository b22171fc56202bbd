import { readFileSync, writeFileSync } from 'node:fs';
import { settingsReferenceMarkdown } from '../src/config/settingsReference.js';

/** Prints the settings table; with --write, replaces it in README.md between its markers. */
const BEGIN = '<!-- settings:begin -->';
const END = '<!-- settings:end -->';
const table = settingsReferenceMarkdown();
if (process.argv.includes('--write')) {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
  writeFileSync('README.md', `${readme.slice(0, start + BEGIN.length)}\n${table}\n${readme.slice(end)}`);
} else {
  process.stdout.write(`${table}\n`);
}
