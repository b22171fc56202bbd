import { BarChart, HeatmapChart, LineChart, TreemapChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { init, use, type EChartsCoreOption, type EChartsType } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { formatCount, formatShare, formatYuan, t, type MessageKey } from '../shared/i18n.js';
import type { DetailsView, OverviewView, SeriesView } from './adminApi.js';

// Only what the dashboard draws goes into the bundle (esbuild, at build time, see
// scripts/copyWebAssets.mjs), served by the service itself so the page works offline.
use([BarChart, LineChart, TreemapChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

const MEMBER = '#2563eb';
const NON_MEMBER = '#94a3b8';
const SOURCE_COLORS = ['#2563eb', '#16a34a', '#f59e0b', '#9333ea'];
// Dark enough for the white labels on every tile: blues for 重要 (important), teals for 一般 (general).
const RFM_COLORS = ['#1e3a8a', '#1d4ed8', '#2563eb', '#3b82f6', '#134e4a', '#115e59', '#0f766e', '#0d9488'];

const fen = (value: number) => formatYuan(value / 100);
/** Axis labels in whole yuan with thousands separators: ¥12,300. */
const axisYuan = (value: number) => `¥${formatCount(Math.round(value / 100))}`;
const shortDate = (date: string) => date.slice(5);

/** One chart on the page: its ECharts instance, or the sentence that says what will appear once there is data. */
export class ChartPanel {
  private chart: EChartsType | undefined;
  private readonly canvasBox: HTMLElement;
  private readonly emptyLine: HTMLElement;

  constructor(
    readonly section: HTMLElement,
    private readonly emptyKey: MessageKey,
  ) {
    this.canvasBox = section.querySelector<HTMLElement>('.chart')!;
    this.emptyLine = section.querySelector<HTMLElement>('.empty')!;
  }

  /** Draws `option`, or the empty state when it is null; `onClick` gets the data item of a clicked element. */
  show(option: EChartsCoreOption | null, onClick?: (data: unknown) => void): void {
    if (option === null) {
      this.chart?.dispose();
      this.chart = undefined;
      this.canvasBox.hidden = true;
      this.emptyLine.textContent = t(this.emptyKey);
      this.emptyLine.hidden = false;
      this.section.dataset.state = 'empty';
      return;
    }
    this.emptyLine.hidden = true;
    this.canvasBox.hidden = false;
    this.chart ??= init(this.canvasBox, undefined, { renderer: 'canvas' });
    this.chart.setOption({ animation: false, ...option }, { notMerge: true });
    this.chart.off('click');
    if (onClick) this.chart.on('click', (params) => onClick(params.data));
    this.chart.resize();
    this.section.dataset.state = 'drawn';
  }

  resize(): void {
    this.chart?.resize();
  }
}

const grid = { left: 8, right: 12, top: 36, bottom: 8, containLabel: true };
const legend = { top: 0, type: 'scroll' as const };
/** Every category named, wrapped rather than dropped when a phone leaves each one little room. */
const categoryLabels = { interval: 0, width: 56, overflow: 'break' as const, fontSize: 11 };

export function salesOption(series: SeriesView): EChartsCoreOption | null {
  if (!series.days.some((d) => d.salesFen.members !== 0 || d.salesFen.nonMembers !== 0)) return null;
  return {
    grid,
    legend,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => fen(v) },
    xAxis: { type: 'category', data: series.days.map((d) => shortDate(d.date)) },
    yAxis: { type: 'value', axisLabel: { formatter: axisYuan } },
    series: [
      { name: t('dash.sales.members'), type: 'bar', stack: 'sales', color: MEMBER, data: series.days.map((d) => d.salesFen.members) },
      { name: t('dash.sales.nonMembers'), type: 'bar', stack: 'sales', color: NON_MEMBER, data: series.days.map((d) => d.salesFen.nonMembers) },
    ],
  };
}

const SOURCES = ['payment', 'face', 'admin', 'import'] as const;
const SOURCE_FIELD = { payment: 'byPayment', face: 'byFace', admin: 'byAdmin', import: 'byImport' } as const;

export function growthOption(series: SeriesView): EChartsCoreOption | null {
  const total = (d: SeriesView['days'][number]) => SOURCES.reduce((sum, s) => sum + d.newMembers[SOURCE_FIELD[s]], 0);
  if (!series.days.some((d) => total(d) > 0)) return null;
  return {
    grid,
    legend,
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: series.days.map((d) => shortDate(d.date)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: SOURCES.map((source, i) => ({
      name: t(`dash.source.${source}`),
      type: 'bar',
      stack: 'new',
      color: SOURCE_COLORS[i],
      data: series.days.map((d) => d.newMembers[SOURCE_FIELD[source]]),
    })),
  };
}

export function repeatOption(series: SeriesView): EChartsCoreOption | null {
  if (!series.repeatRateByWeek.some((w) => w.repeatRate !== null)) return null;
  return {
    grid: { ...grid, top: 16 },
    tooltip: { trigger: 'axis', valueFormatter: (v: number | null) => (v === null ? t('dash.kpi.none') : formatShare(v)) },
    xAxis: { type: 'category', data: series.repeatRateByWeek.map((w) => shortDate(w.from)) },
    yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => formatShare(v) } },
    series: [{ name: t('dash.repeat.series'), type: 'line', color: MEMBER, connectNulls: true, symbolSize: 8, data: series.repeatRateByWeek.map((w) => w.repeatRate) }],
  };
}

export function frequencyOption(details: DetailsView): EChartsCoreOption | null {
  if (!details.visitFrequency.some((b) => b.members > 0)) return null;
  return {
    grid: { ...grid, top: 16 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', axisLabel: categoryLabels, data: details.visitFrequency.map((b) => t('dash.frequency.bucket', { visits: b.visits })) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: t('dash.frequency.series'), type: 'bar', color: MEMBER, data: details.visitFrequency.map((b) => b.members) }],
  };
}

/** Segment name as the owner reads it. */
export function segmentName(segment: string): string {
  return t(`dash.rfm.${segment}` as MessageKey);
}

export function rfmOption(details: DetailsView): EChartsCoreOption | null {
  const segments = details.rfm.filter((s) => s.members > 0);
  if (segments.length === 0) return null;
  return {
    tooltip: {
      formatter: (p: { data: { segment: string; value: number; salesFen: number; salesShare: number | null } }) =>
        `${segmentName(p.data.segment)}<br/>${formatCount(p.data.value)} · ${fen(p.data.salesFen)} (${p.data.salesShare === null ? t('dash.kpi.none') : formatShare(p.data.salesShare)})`,
    },
    series: [
      {
        type: 'treemap',
        roam: false,
        nodeClick: false,
        breadcrumb: { show: false },
        left: 0,
        right: 0,
        top: 0,
        bottom: 0,
        label: { show: true, formatter: (p: { data: { label: string } }) => p.data.label, lineHeight: 18, fontSize: 13 },
        itemStyle: { borderColor: '#fff', borderWidth: 2, gapWidth: 2 },
        data: segments.map((s) => ({
          name: s.segment,
          segment: s.segment,
          value: s.members,
          salesFen: s.salesFen,
          salesShare: s.salesShare,
          label: t('dash.rfm.label', {
            segment: segmentName(s.segment),
            count: formatCount(s.members),
            share: s.salesShare === null ? t('dash.kpi.none') : formatShare(s.salesShare),
          }),
          itemStyle: { color: RFM_COLORS[details.rfm.findIndex((r) => r.segment === s.segment)] },
        })),
      },
    ],
  };
}

export function tiersOption(details: DetailsView): EChartsCoreOption | null {
  if (!details.tiers.some((tier) => tier.members > 0)) return null;
  return {
    grid: { ...grid, top: 16 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', axisLabel: categoryLabels, data: details.tiers.map((tier) => tier.tier) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: t('dash.tiers.series'), type: 'bar', color: '#f59e0b', data: details.tiers.map((tier) => tier.members) }],
  };
}

const RECENCY = ['days0to30', 'days31to60', 'days61to180', 'over180', 'never'] as const;

export function recencyOption(details: DetailsView): EChartsCoreOption | null {
  if (!RECENCY.some((b) => details.recency[b] > 0)) return null;
  return {
    grid: { ...grid, top: 16 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', axisLabel: categoryLabels, data: RECENCY.map((b) => t(`dash.recency.${b}`)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        name: t('dash.tiers.series'),
        type: 'bar',
        data: RECENCY.map((b, i) => ({ value: details.recency[b], itemStyle: { color: ['#16a34a', '#84cc16', '#f59e0b', '#dc2626', '#94a3b8'][i] } })),
      },
    ],
  };
}

export function couponsOption(overview: OverviewView): EChartsCoreOption | null {
  const { coupons } = overview;
  if (coupons.issued + coupons.redeemed + coupons.expired === 0) return null;
  const kinds = ['issued', 'redeemed', 'expired'] as const;
  return {
    grid: { ...grid, top: 16 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', axisLabel: categoryLabels, data: kinds.map((k) => t(`dash.coupons.${k}`)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ type: 'bar', data: kinds.map((k, i) => ({ value: coupons[k], itemStyle: { color: ['#2563eb', '#16a34a', '#94a3b8'][i] } })) }],
  };
}

const LANE_FIGURES = ['facesSeen', 'recognitions', 'unknownFaces', 'faceLinkedPayments'] as const;

export function lanesOption(details: DetailsView): EChartsCoreOption | null {
  if (details.lanes.length === 0) return null;
  return {
    // Four long names: the legend wraps onto a second line on a phone rather than scroll.
    grid: { ...grid, top: 64 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', axisLabel: categoryLabels, data: details.lanes.map((l) => l.lane) },
    yAxis: { type: 'value', minInterval: 1 },
    series: LANE_FIGURES.map((figure, i) => ({
      name: t(`dash.lanes.${figure}`),
      type: 'bar',
      color: ['#64748b', '#2563eb', '#f59e0b', '#16a34a'][i],
      data: details.lanes.map((l) => l[figure]),
    })),
  };
}

export function heatmapOption(details: DetailsView): EChartsCoreOption | null {
  const cells: [number, number, number][] = [];
  let max = 0;
  details.visitHeatmap.forEach((hours, weekday) =>
    hours.forEach((visits, hour) => {
      if (visits > 0) cells.push([hour, weekday, visits]);
      max = Math.max(max, visits);
    }),
  );
  if (cells.length === 0) return null;
  const weekdays = [0, 1, 2, 3, 4, 5, 6].map((d) => t(`dash.weekday.${d}` as MessageKey));
  return {
    grid: { left: 8, right: 12, top: 8, bottom: 48, containLabel: true },
    tooltip: { formatter: (p: { data: [number, number, number] }) => `${weekdays[p.data[1]]} ${p.data[0]}:00 · ${formatCount(p.data[2])}` },
    xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, h) => String(h)), splitArea: { show: true } },
    yAxis: { type: 'category', data: weekdays, inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#dbeafe', '#1d4ed8'] } },
    series: [{ name: t('dash.heatmap.series'), type: 'heatmap', data: cells }],
  };
}

export function liabilityOption(details: DetailsView): EChartsCoreOption | null {
  const { points, storedValueFen: stored } = details.liability;
  const any = [points.issued, points.redeemed, points.expired, points.outstanding, stored.issued, stored.redeemed, stored.outstanding].some((v) => v !== 0);
  if (!any) return null;
  const pointKinds = ['issued', 'redeemed', 'expired', 'outstanding'] as const;
  const storedKinds = ['issued', 'redeemed', 'outstanding'] as const;
  const names = (kinds: readonly string[]) => kinds.map((k) => t(`dash.liability.${k}` as MessageKey));
  // Points above, stored value below, bars lying down: their names fit a phone's width.
  return {
    legend,
    tooltip: { trigger: 'axis' },
    grid: [
      { left: 8, right: 16, top: 36, height: '36%', containLabel: true },
      { left: 8, right: 16, top: '60%', bottom: 8, containLabel: true },
    ],
    yAxis: [
      { type: 'category', gridIndex: 0, inverse: true, data: names(pointKinds) },
      { type: 'category', gridIndex: 1, inverse: true, data: names(storedKinds) },
    ],
    xAxis: [
      { type: 'value', gridIndex: 0, splitNumber: 3, axisLabel: { formatter: (v: number) => formatCount(v) } },
      { type: 'value', gridIndex: 1, splitNumber: 3, axisLabel: { formatter: axisYuan } },
    ],
    series: [
      { name: t('dash.liability.points'), type: 'bar', xAxisIndex: 0, yAxisIndex: 0, color: '#9333ea', data: pointKinds.map((k) => points[k]) },
      {
        name: t('dash.liability.stored'),
        type: 'bar',
        xAxisIndex: 1,
        yAxisIndex: 1,
        color: '#0f766e',
        tooltip: { valueFormatter: (v: number) => fen(v) },
        data: storedKinds.map((k) => stored[k]),
      },
    ],
  };
}
