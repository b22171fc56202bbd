// tsc emits the pages' scripts but not their markup, styles and icons; this puts those next
// to the scripts under dist/web so the service can serve one directory. The dashboard page
// imports ECharts, which a browser cannot resolve from node_modules: esbuild bundles that page
// with only the chart types and components it uses, over what tsc emitted for it.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
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

const DASHBOARD = path.join(to, 'admin', 'dashboardPage.js');
await build({
  entryPoints: [path.join(from, 'admin', 'dashboardPage.ts')],
  outfile: DASHBOARD,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
// What tsc emitted for the bundled modules is not served: the bundle replaces it.
for (const stale of ['dashboardPage.js.map', 'dashboardCharts.js', 'dashboardCharts.js.map']) await rm(path.join(to, 'admin', stale), { force: true });
console.log(`bundled the dashboard page with ECharts: ${path.relative(root, DASHBOARD)} (${Math.round((await stat(DASHBOARD)).size / 1024)} KB)`);
