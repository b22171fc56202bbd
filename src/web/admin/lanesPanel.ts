import { byTestId, h } from '../shared/dom.js';
import { formatCount, t, type MessageKey } from '../shared/i18n.js';
import type { LaneView } from './adminApi.js';

/** Cameras and scanners report the same states. */
const SOURCE_TONE: Record<string, 'ok' | 'warn' | 'bad'> = {
  running: 'ok',
  starting: 'warn',
  retrying: 'warn',
  stopped: 'bad',
  failed: 'bad',
};

/** The lanes table; also feeds the lane choice for enrolling from a live camera. */
export class LanesPanel {
  private lanes: LaneView[] = [];
  private readonly body = byTestId('lane-list').querySelector('tbody')!;
  private readonly empty = byTestId('lane-list-empty');

  constructor(private readonly onChange: (lanes: LaneView[]) => void) {}

  show(lanes: LaneView[]): void {
    this.lanes = lanes;
    this.render();
    this.onChange(lanes);
  }

  render(): void {
    this.empty.hidden = this.lanes.length > 0;
    this.body.replaceChildren(
      ...this.lanes.map((lane) =>
        h('tr', { testId: 'lane-row', attrs: { 'data-lane': lane.id } }, [
          h('td', { className: 'lane-id', text: lane.id }),
          ...sourceCells('camera', lane.camera, lane.camera.framesIn, lane.camera.framesDropped),
          ...sourceCells('scanner', lane.scanner, lane.scanner.scansIn, lane.scanner.scansDropped),
          h('td', { className: 'number', text: formatCount(lane.connectedTills) }),
        ]),
      ),
    );
  }
}

/** A camera's or scanner's state (with its kind and detail) and its in / dropped counts: two cells of a lane's row. */
function sourceCells(source: 'camera' | 'scanner', view: { kind: string; state: string; detail?: string }, taken: number, dropped: number): HTMLElement[] {
  return [
    h('td', {}, [
      h('span', {
        className: 'indicator',
        text: sourceLabel(source, view.state),
        testId: `lane-${source}`,
        attrs: { 'data-state': view.state, 'data-tone': SOURCE_TONE[view.state] ?? 'idle' },
      }),
      h('span', { className: 'camera-detail', text: [view.kind, view.detail].filter(Boolean).join(' · ') }),
    ]),
    h('td', { className: 'number', text: `${formatCount(taken)} / ${formatCount(dropped)}` }),
  ];
}

function sourceLabel(source: 'camera' | 'scanner', state: string): string {
  // A state newer than this page still shows, untranslated, rather than as "unknown".
  return state in SOURCE_TONE ? t(`${source}.${state}` as MessageKey) : state;
}
