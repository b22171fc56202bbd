/**
 * `npm run bench [-- --json] [--images N] [--search-sizes 10000,100000]`
 *
 * Face pipeline stage latencies, then 1:N search beside face-api's FaceMatcher, in one
 * process, checked against the targets of the performance issue. With --json, stdout holds
 * exactly one JSON object; progress and library chatter go to stderr. npm itself prints a
 * "> memberlens bench" banner on stdout, so pipe `npm run -s bench -- --json` to a parser.
 */
// Taken before anything else is loaded: static imports run first, so only node: builtins are
// imported statically and the bench modules are imported dynamically below.
const startRss = process.memoryUsage().rss;

import os from 'node:os';
import { parseArgs } from 'node:util';
import type { PipelineBenchResult, PipelineRun, StageName } from './benchPipeline.js';
import type { SearchBenchResult } from './benchSearch.js';

/** The targets. Never loosen one to make a run pass: report it as NOT met instead. */
const TARGETS = {
  search100kMedianMs: 5,
  search1MMedianMs: 50,
  top1AgreementPercent: 100,
  rssAfterModelLoadMb: 250,
} as const;

const DEFAULT_SEARCH_SIZES = [10_000, 100_000, 1_000_000];

type Status = 'met' | 'NOT met' | 'not measured';

interface TargetCheck {
  target: string;
  measured: number | null;
  unit: string;
  status: Status;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bench [-- --json] [--images N] [--search-sizes 10000,100000,1000000]\n`);
  process.exit(2);
}

function parseCli(): { json: boolean; images: number | undefined; searchSizes: number[] } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        images: { type: 'string' },
        'search-sizes': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  let images: number | undefined;
  if (values.images !== undefined) {
    images = Number(values.images);
    if (!Number.isInteger(images) || images < 1) usage(`--images must be a positive integer, got "${values.images}"`);
  }
  let searchSizes = DEFAULT_SEARCH_SIZES;
  if (values['search-sizes'] !== undefined) {
    searchSizes = values['search-sizes'].split(',').map((s) => Number(s.trim().replace(/_/g, '')));
    if (searchSizes.length === 0 || searchSizes.some((n) => !Number.isInteger(n) || n < 1)) {
      usage(`--search-sizes must be comma-separated positive integers, got "${values['search-sizes']}"`);
    }
  }
  return { json: values.json ?? false, images, searchSizes };
}

function check(target: string, measured: number | null, unit: string, ok: (v: number) => boolean): TargetCheck {
  return { target, measured, unit, status: measured === null ? 'not measured' : ok(measured) ? 'met' : 'NOT met' };
}

function checkTargets(pipeline: PipelineBenchResult, search: SearchBenchResult[]): Record<string, TargetCheck> {
  const medianAt = (faces: number) => search.find((r) => r.galleryFaces === faces)?.gallerySearchMedianMs ?? null;
  const queries = search.reduce((n, r) => n + r.galleryQueries, 0);
  const agreeing = search.reduce((n, r) => n + r.top1Agreement, 0);
  const agreement = queries === 0 ? null : Math.round((agreeing / queries) * 10_000) / 100;
  return {
    search100kMedian: check(`100k-face search median ≤ ${TARGETS.search100kMedianMs} ms`, medianAt(100_000), 'ms',
      (v) => v <= TARGETS.search100kMedianMs),
    search1MMedian: check(`1M-face search median ≤ ${TARGETS.search1MMedianMs} ms`, medianAt(1_000_000), 'ms',
      (v) => v <= TARGETS.search1MMedianMs),
    top1Agreement: check(`top-1 identical to exact float search (${TARGETS.top1AgreementPercent}%)`, agreement, '%',
      (v) => v >= TARGETS.top1AgreementPercent),
    rssAfterModelLoad: check(`RSS after model load ≤ ${TARGETS.rssAfterModelLoadMb} MB`, pipeline.rssMb.afterModelLoad, 'MB',
      (v) => v <= TARGETS.rssAfterModelLoadMb),
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    totalMemoryMb: Math.round(os.totalmem() / 1e6),
  };
}

function runLabel(run: PipelineRun): string {
  const set = run.imageSet === 'fixtures' ? 'fixtures' : '640×480 JPEG';
  return `${run.purpose} · ${run.detector} · ${set}`;
}

function printPipeline(pipeline: PipelineBenchResult): void {
  const runs = [pipeline.enroll, pipeline.live, pipeline.liveFrames];
  const stages: StageName[] = ['decode', 'detect', 'landmarks', 'descriptor', 'total'];
  const rows: Record<string, Record<string, string>> = {};
  for (const stage of stages) {
    rows[`${stage} ms (median / p95)`] = Object.fromEntries(
      runs.map((r) => [runLabel(r), `${r.stages[stage].medianMs} / ${r.stages[stage].p95Ms}`]),
    );
  }
  rows['images (distinct, warm-up)'] = Object.fromEntries(
    runs.map((r) => [runLabel(r), `${r.images} (${r.distinctImages}, +${r.warmupImages})`]),
  );
  rows['faces found / passing gate'] = Object.fromEntries(
    runs.map((r) => [runLabel(r), `${r.facesFound} / ${r.facesPassingGate}`]),
  );
  rows['images without a face'] = Object.fromEntries(runs.map((r) => [runLabel(r), String(r.imagesWithoutFace)]));
  rows['tensors before → after'] = Object.fromEntries(
    runs.map((r) => [runLabel(r), `${r.tensorsBefore} → ${r.tensorsAfter}${r.tensorsBefore === r.tensorsAfter ? '' : ' LEAK'}`]),
  );
  rows['RSS after run, MB'] = Object.fromEntries(runs.map((r) => [runLabel(r), String(r.rssMbAfter)]));
  console.table(rows);
}

function printReport(report: Report, printSearchBench: (results: SearchBenchResult[]) => void): void {
  const { machine: m, pipeline } = report;
  console.log(`memberlens bench — ${m.cpuModel}, ${m.cores} cores, ${m.platform}, Node ${m.node}, TensorFlow.js backend: ${report.backend}`);
  console.log('');
  console.log(
    `Memory (RSS, MB = 10^6 B): start ${report.rssMb.start}, after imports ${pipeline.rssMb.afterImports}, ` +
      `after model load ${report.rssMb.afterModelLoad} (heap ${pipeline.memoryAfterModelLoadMb.heapUsed}, ` +
      `external ${pipeline.memoryAfterModelLoadMb.external}), after pipeline ${pipeline.rssMb.end}, end ${report.rssMb.end}; ` +
      `models loaded in ${pipeline.modelLoadMs} ms`,
  );
  console.log('');
  console.log('Face pipeline, per image (total = wall time of analyzeBytes):');
  printPipeline(pipeline);
  console.log('');
  console.log('1:N search, memberlens Gallery vs face-api FaceMatcher, same gallery:');
  printSearchBench(report.search);
  console.log('');
  console.log('Targets (from the issue):');
  console.table(
    Object.fromEntries(
      Object.values(report.targets).map((t) => [t.target, { measured: t.measured === null ? '—' : `${t.measured} ${t.unit}`, status: t.status }]),
    ),
  );
}

interface Report {
  machine: ReturnType<typeof machine>;
  backend: string;
  rssMb: { start: number; afterModelLoad: number; end: number };
  pipeline: PipelineBenchResult;
  search: SearchBenchResult[];
  targets: Record<string, TargetCheck>;
  durationS: number;
}

async function main(): Promise<void> {
  const began = performance.now();
  const cli = parseCli();
  if (cli.json) {
    // Libraries print with console.log (tfjs's backend notes among them); keep stdout for the JSON.
    const toStderr = (...args: unknown[]) => console.error(...args);
    console.log = toStderr;
    console.info = toStderr;
    console.debug = toStderr;
  }
  const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
  if (cli.images !== undefined && cli.images < 50) progress(`--images ${cli.images}: a quick run; the issue's figures need at least 50`);

  const { benchPipeline } = await import('./benchPipeline.js');
  const { megabytes } = await import('./benchStats.js');
  const pipeline = await benchPipeline({
    images: cli.images,
    startRssMb: megabytes(startRss),
    progress,
  });
  progress(`search at ${cli.searchSizes.join(', ')} faces`);
  const { benchSearch, printSearchBench } = await import('./benchSearch.js');
  const search = await benchSearch(cli.searchSizes);

  const report: Report = {
    machine: machine(),
    backend: pipeline.backend,
    rssMb: {
      start: pipeline.rssMb.start,
      afterModelLoad: pipeline.rssMb.afterModelLoad,
      end: megabytes(process.memoryUsage().rss),
    },
    pipeline,
    search,
    targets: checkTargets(pipeline, search),
    durationS: Math.round((performance.now() - began) / 1000),
  };
  if (cli.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    printReport(report, printSearchBench);
  }
}

await main();
