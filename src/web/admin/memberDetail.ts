import { byTestId, h } from '../shared/dom.js';
import { formatCount, formatDateTime, formatDiscount, formatYuan, t, type MessageKey } from '../shared/i18n.js';
import type { AdminApi, ConsentInput, ConsentMethod, EnrollAnswer, LaneView, MemberDetail } from './adminApi.js';
import { confirmAction } from './confirmDialog.js';
import type { Feedback } from './feedback.js';

/** The multer limit on the route; more files would be refused as a whole. */
const MAX_PHOTOS = 5;

/** One member: facts, consent, faces, and the two ways to enroll a face. */
export class MemberDetailPanel {
  private member: MemberDetail | undefined;
  private qr: { memberId: string; code: string; expiresAtMs: number } | undefined;
  private qrTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly empty = byTestId('detail-empty');
  private readonly body = byTestId('detail-body');
  private readonly faceList = byTestId<HTMLUListElement>('face-list');
  private readonly consentFields = byTestId<HTMLFieldSetElement>('consent-fields');
  private readonly consentMethod = byTestId<HTMLSelectElement>('enroll-consent-method');
  private readonly staff = byTestId<HTMLInputElement>('enroll-staff');
  private readonly photo = byTestId<HTMLInputElement>('enroll-photo');
  private readonly uploadButton = byTestId<HTMLButtonElement>('enroll-upload');
  private readonly laneSelect = byTestId<HTMLSelectElement>('enroll-lane');
  private readonly fromLaneButton = byTestId<HTMLButtonElement>('enroll-from-lane');
  private readonly hint = byTestId('enroll-hint');
  private readonly qrButton = byTestId<HTMLButtonElement>('member-qr');
  private readonly qrCode = byTestId('member-qr-code');
  private readonly qrExpires = byTestId('member-qr-expires');
  private readonly withdrawButton = byTestId<HTMLButtonElement>('withdraw-consent');

  constructor(
    private readonly api: () => AdminApi,
    private readonly feedback: Feedback,
    private readonly onMemberDeleted: () => void,
  ) {
    for (const input of [this.consentMethod, this.staff, this.photo, this.laneSelect]) {
      input.addEventListener('input', () => this.updateEnrollControls());
      input.addEventListener('change', () => this.updateEnrollControls());
    }
    this.uploadButton.addEventListener('click', () => void this.enrollFromPhotos());
    this.fromLaneButton.addEventListener('click', () => void this.enrollFromLane());
    byTestId('delete-member').addEventListener('click', () => void this.deleteMember());
    this.qrButton.addEventListener('click', () => void this.showQr());
    this.withdrawButton.addEventListener('click', () => void this.withdrawConsent());
  }

  get shownId(): string | undefined {
    return this.member?.id;
  }

  async open(memberId: string): Promise<void> {
    try {
      this.show(await this.api().getMember(memberId));
    } catch (err) {
      this.feedback.error(err);
    }
  }

  clear(): void {
    this.member = undefined;
    this.forgetQr();
    this.body.hidden = true;
    this.empty.hidden = false;
  }

  setLanes(lanes: LaneView[]): void {
    const chosen = this.laneSelect.value;
    this.laneSelect.replaceChildren(...lanes.map((lane) => h('option', { text: lane.id, attrs: { value: lane.id } })));
    if (lanes.some((lane) => lane.id === chosen)) this.laneSelect.value = chosen;
    this.updateEnrollControls();
  }

  render(): void {
    const member = this.member;
    if (!member) return;
    byTestId('member-name').textContent = member.name;
    byTestId('member-id').textContent = member.id;
    byTestId('member-phone').textContent = member.phone ?? t('admin.detail.none');
    byTestId('member-created').textContent = formatDateTime(new Date(member.createdAtMs));
    this.renderMembership();
    this.renderQr();

    const consent = member.faceConsent;
    byTestId('consent-status').textContent = consent
      ? t('admin.consent.granted', {
          method: t(`admin.consent.${consent.method}` satisfies MessageKey),
          when: formatDateTime(new Date(consent.grantedAtMs)),
          staff: consent.staff ?? t('admin.detail.none'),
        })
      : t('admin.consent.missing');
    byTestId('consent-status').dataset.consent = consent ? 'granted' : 'missing';
    // Consent is recorded once; asking again for a member who already gave it invites a second record.
    this.consentFields.hidden = consent !== null;
    this.withdrawButton.hidden = consent === null;

    byTestId('face-list-empty').hidden = member.faces.length > 0;
    this.renderFaceCoverage();
    this.faceList.replaceChildren(
      ...member.faces.map((face) => {
        const remove = h('button', { className: 'danger small', text: t('admin.faces.delete'), testId: 'face-delete', attrs: { type: 'button', 'data-face-id': face.id } });
        remove.addEventListener('click', () => void this.deleteFace(face.id));
        const facts = [t(`admin.faces.source.${face.source}` satisfies MessageKey), formatDateTime(new Date(face.createdAtMs))];
        if (face.detectionScore !== null) facts.push(`${Math.round(face.detectionScore * 100)}%`);
        return h('li', { testId: 'face-item', attrs: { 'data-face-id': face.id } }, [
          h('span', { className: 'face-id', text: face.id }),
          h('span', { className: 'face-facts', text: facts.join(' · ') }),
          remove,
        ]);
      }),
    );
    this.updateEnrollControls();
  }

  /** One photo, or the same photo twice, names the member on a good day only; no face at all is said by the empty list. */
  private renderFaceCoverage(): void {
    const warning = this.member?.faceCoverage?.warning;
    const shown = warning === 'single-face' || warning === 'faces-too-alike' ? warning : undefined;
    const line = byTestId('face-coverage-warning');
    line.hidden = shown === undefined;
    line.dataset.warning = shown ?? '';
    line.textContent = shown === undefined ? '' : t(`admin.faces.warning.${shown}` satisfies MessageKey);
  }

  private renderMembership(): void {
    const summary = this.member?.membership;
    const none = t('admin.detail.none');
    byTestId('member-tier').textContent = summary
      ? t('admin.detail.tierValue', { tier: summary.tier.name, discount: formatDiscount(summary.tier.discountRate) })
      : none;
    byTestId('member-tier').dataset.tier = summary?.tier.name ?? '';
    byTestId('member-points').textContent = summary ? formatCount(summary.points) : none;
    byTestId('member-balance').textContent = summary ? formatYuan(summary.balanceYuan) : none;
    byTestId('member-spend').textContent = summary ? formatYuan(summary.spendInWindowYuan) : none;
  }

  private show(member: MemberDetail): void {
    if (member.id !== this.member?.id) {
      // One member's code must never sit beside another member's name.
      this.forgetQr();
      this.consentMethod.value = '';
      this.staff.value = '';
      this.photo.value = '';
    }
    this.member = member;
    this.empty.hidden = true;
    this.body.hidden = false;
    this.render();
  }

  /** Undefined while the admin still owes the consent record this member needs. */
  private consent(): ConsentInput | undefined {
    if (this.member?.faceConsent) return {};
    const method = this.consentMethod.value as ConsentMethod | '';
    const staff = this.staff.value.trim();
    return method && staff ? { consentMethod: method, staff } : undefined;
  }

  private updateEnrollControls(): void {
    const consentReady = this.consent() !== undefined;
    const photos = this.photo.files?.length ?? 0;
    this.uploadButton.disabled = !consentReady || photos === 0;
    this.fromLaneButton.disabled = !consentReady || !this.laneSelect.value;
    this.hint.textContent = !consentReady ? t('admin.enroll.needConsent') : photos === 0 ? t('admin.enroll.needPhoto') : '';
  }

  private async enrollFromPhotos(): Promise<void> {
    const member = this.member;
    const consent = this.consent();
    const photos = Array.from(this.photo.files ?? []).slice(0, MAX_PHOTOS);
    if (!member || !consent || photos.length === 0) return;
    await this.busy(this.uploadButton, async () => {
      this.report(await this.api().enrollFromPhotos(member.id, photos, consent));
      this.photo.value = '';
    });
  }

  private async enrollFromLane(): Promise<void> {
    const member = this.member;
    const consent = this.consent();
    if (!member || !consent || !this.laneSelect.value) return;
    await this.busy(this.fromLaneButton, async () => {
      this.report(await this.api().enrollFromLane(member.id, this.laneSelect.value, consent));
    });
  }

  private report(answer: EnrollAnswer): void {
    const rejected = answer.rejected.map((r) => t('admin.enroll.rejected', { label: r.label, message: r.message }));
    if (answer.faces.length === 0) {
      // Nothing enrolled: the reasons are the error, one sentence per photo.
      this.feedback.problems(rejected);
    } else {
      this.feedback.notice([t('admin.enroll.done', { count: answer.faces.length }), ...rejected]);
    }
  }

  private async showQr(): Promise<void> {
    const member = this.member;
    if (!member) return;
    this.qrButton.disabled = true;
    try {
      const answer = await this.api().memberQr(member.id);
      const expiresAtMs = Date.parse(answer.expiresAt);
      // The admin may have opened someone else while the request was out.
      if (this.member?.id !== member.id) return;
      this.qr = { memberId: member.id, code: answer.code, expiresAtMs };
      clearTimeout(this.qrTimer);
      if (Number.isFinite(expiresAtMs)) {
        // setTimeout takes at most about 24.8 days; a code lives minutes.
        this.qrTimer = setTimeout(() => this.renderQr(), Math.min(Math.max(0, expiresAtMs - Date.now()) + 500, 2 ** 31 - 1));
      }
      this.renderQr();
    } catch (err) {
      this.feedback.error(err);
    } finally {
      this.qrButton.disabled = false;
    }
  }

  /** The code as text: a QR image would need a library this page does not carry yet. */
  private renderQr(): void {
    const qr = this.qr?.memberId === this.member?.id ? this.qr : undefined;
    const expired = qr !== undefined && Number.isFinite(qr.expiresAtMs) && qr.expiresAtMs <= Date.now();
    this.qrCode.hidden = !qr || expired;
    this.qrCode.textContent = qr && !expired ? qr.code : '';
    this.qrExpires.hidden = !qr;
    this.qrExpires.dataset.expired = String(expired);
    this.qrExpires.textContent = !qr
      ? ''
      : expired
        ? t('admin.qr.expired')
        : Number.isFinite(qr.expiresAtMs)
          ? t('admin.qr.expires', { when: formatDateTime(new Date(qr.expiresAtMs)) })
          : '';
  }

  private forgetQr(): void {
    clearTimeout(this.qrTimer);
    this.qr = undefined;
    this.renderQr();
  }

  private async deleteFace(faceId: string): Promise<void> {
    const member = this.member;
    if (!member || !(await confirmAction(t('admin.delete.faceConfirm')))) return;
    try {
      await this.api().deleteFace(member.id, faceId);
      this.feedback.notice([t('admin.deleted.face')]);
      await this.open(member.id);
    } catch (err) {
      this.feedback.error(err);
    }
  }

  /** The member stays, with points and balance; their face data goes at once, as the law requires. */
  private async withdrawConsent(): Promise<void> {
    const member = this.member;
    if (!member?.faceConsent || !(await confirmAction(t('admin.consent.withdrawConfirm', { name: member.name })))) return;
    this.withdrawButton.disabled = true;
    try {
      const answer = await this.api().withdrawConsent(member.id);
      this.feedback.notice([t('admin.consent.withdrawn', { count: answer.deletedFaces })]);
      // Only if the admin is still looking at this member; opening reports its own errors.
      if (this.member?.id === member.id) await this.open(member.id);
    } catch (err) {
      this.feedback.error(err);
    } finally {
      this.withdrawButton.disabled = false;
    }
  }

  private async deleteMember(): Promise<void> {
    const member = this.member;
    if (!member || !(await confirmAction(t('admin.delete.memberConfirm', { name: member.name })))) return;
    try {
      await this.api().deleteMember(member.id);
      this.clear();
      this.feedback.notice([t('admin.deleted.member')]);
      this.onMemberDeleted();
    } catch (err) {
      this.feedback.error(err);
    }
  }

  /** Disables the button for the request, and refreshes the member whether or not it worked. */
  private async busy(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
    const member = this.member;
    button.disabled = true;
    try {
      await work();
    } catch (err) {
      this.feedback.error(err);
    }
    if (member) {
      try {
        this.show(await this.api().getMember(member.id));
      } catch (err) {
        this.feedback.error(err);
      }
    }
    this.updateEnrollControls();
  }
}
