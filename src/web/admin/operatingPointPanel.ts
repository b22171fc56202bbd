import { byTestId, h } from '../shared/dom.js';
import { formatCount, formatDateTime, formatShare, t } from '../shared/i18n.js';
import type { AdminApi, OperatingPointView } from './adminApi.js';
import type { Feedback } from './feedback.js';
import { RefreshedPanel } from './refreshedPanel.js';

/**
 * How recognition is set up now: how many members a stranger is compared with, the budget for
 * naming a stranger, the threshold that gives per face size and the share of members it names,
 * and how many members' visits stayed unknown since the service started.
 */
export class OperatingPointPanel extends RefreshedPanel<OperatingPointView> {
  private readonly body = byTestId('recognition-body');
  private readonly buckets = byTestId('recognition-buckets').querySelector('tbody')!;

  constructor(
    private readonly api: () => AdminApi,
    feedback: Feedback,
  ) {
    super('recognition-refresh', feedback);
  }

  protected fetch(): Promise<OperatingPointView> {
    return this.api().operatingPoint();
  }

  render(): void {
    const view = this.data;
    // Nothing is shown before the first answer rather than zeros that would read as facts.
    this.body.hidden = view === undefined;
    if (!view) return;
    byTestId('recognition-members').textContent = formatCount(view.membersWithFaces);
    byTestId('recognition-budget').textContent = t('admin.recognition.budgetValue', { visits: formatCount(Math.round(1 / view.falseNamingPerVisit)) });
    byTestId('recognition-smallest-face').textContent =
      view.smallestNamedFacePx === null ? t('admin.recognition.noFaceNamed') : t('admin.recognition.facePx', { px: view.smallestNamedFacePx });

    const last = view.buckets.length - 1;
    this.buckets.replaceChildren(
      ...view.buckets.map((bucket, i) =>
        h('tr', { testId: 'recognition-bucket', attrs: { 'data-face-px-min': String(bucket.facePxMin), 'data-named': String(bucket.threshold !== null) } }, [
          h('td', {
            text:
              // The largest bucket also holds every larger face.
              i === last
                ? t('admin.recognition.bucketFrom', { min: bucket.facePxMin })
                : t('admin.recognition.bucketRange', { min: bucket.facePxMin, max: bucket.facePxMax - 1 }),
          }),
          h('td', { className: 'number', text: bucket.threshold === null ? t('admin.recognition.notNamed') : bucket.threshold.toFixed(3) }),
          h('td', { className: 'number', text: formatShare(bucket.expectedTrueAcceptRate) }),
        ]),
      ),
    );

    const visits = view.memberVisitsUnknown;
    const since = formatDateTime(new Date(visits.since));
    const unknown = byTestId('recognition-unknown');
    unknown.hidden = visits.share === null;
    unknown.textContent =
      visits.share === null
        ? ''
        : t('admin.recognition.unknownShare', { share: formatShare(visits.share), unknown: formatCount(visits.unknown), total: formatCount(visits.confirmed + visits.unknown) });
    byTestId('recognition-unknown-note').textContent =
      visits.share === null ? t('admin.recognition.unknownEmpty', { since }) : t('admin.recognition.unknownNote', { since });

    const { calibration } = view;
    const generated = new Date(calibration.generatedAt);
    byTestId('recognition-calibration').textContent = t('admin.recognition.calibration', {
      sets: calibration.sets.join(', ') || '—',
      conditions: calibration.conditions.join(', ') || '—',
      when: Number.isNaN(generated.getTime()) ? calibration.generatedAt : formatDateTime(generated),
    });
  }
}
