import { byTestId, h } from '../shared/dom.js';
import { formatCount, t, type MessageKey } from '../shared/i18n.js';
import type { LaneView } from './adminApi.js';

const CAMERA_TONE: Record<string, 'ok' | 'warn' | 'bad'> = {
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
          h('td', {}, [
            h('span', {
              className: 'indicator',
              text: cameraLabel(lane.camera.state),
              testId: 'lane-camera',
              attrs: { 'data-state': lane.camera.state, 'data-tone': CAMERA_TONE[lane.camera.state] ?? 'idle' },
            }),
            h('span', { className: 'camera-detail', text: [lane.camera.kind, lane.camera.detail].filter(Boolean).join(' · ') }),
          ]),
          h('td', { className: 'number', text: `${formatCount(lane.camera.framesIn)} / ${formatCount(lane.camera.framesDropped)}` }),
          h('td', { className: 'number', text: formatCount(lane.connectedTills) }),
        ]),
      ),
    );
  }
}

function cameraLabel(state: string): string {
  // A state newer than this page still shows, untranslated, rather than as "unknown".
  return state in CAMERA_TONE ? t(`camera.${state}` as MessageKey) : state;
}
