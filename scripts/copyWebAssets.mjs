// tsc emits the pages' scripts but not their markup, styles and icons; this puts those next
// to the scripts under dist/web so the service can serve one directory.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const from = path.join(root, 'src', 'web');
const to = path.join(root, 'dist', 'web');
const ASSET = /\.(html|css|svg)$/;

const entries = await readdir(from, { recursive: true, withFileTypes: true });
let copied = 0;
for (const entry of entries) {
  if (!entry.isFile() || !ASSET.test(entry.name)) continue;
  const source = path.join(entry.parentPath, entry.name);
  const target = path.join(to, path.relative(from, source));
  await mkdir(path.dirname(target), { recursive: true });
  await copyFile(source, target);
  copied += 1;
}
console.log(`copied ${copied} web assets to ${path.relative(root, to)}`);
