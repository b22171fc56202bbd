import { byTestId, h } from '../shared/dom.js';
import { formatDateTime, hasMessage, t } from '../shared/i18n.js';
import type { AdminApi, CampaignRulesView } from './adminApi.js';
import type { Feedback } from './feedback.js';
import { RefreshedPanel } from './refreshedPanel.js';

/** Fields whose value is one of a few names (the rest are numbers, text or on/off). */
const CHOICES: Record<string, readonly string[]> = { reward: ['coupon', 'points-multiplier'] };

/**
 * An editor for the campaign rules in force (GET/PUT /api/campaigns/rules): each rule with its
 * on/off switch and its numbers, coupons as their own group. The form is built from the rules
 * the service sends, so a rule or field the service adds shows up without a change here (named
 * by its key until it has a translation); the service validates what is saved and names the
 * field when something is wrong.
 */
export class CampaignRulesPanel extends RefreshedPanel<CampaignRulesView> {
  private readonly form = byTestId<HTMLFormElement>('rules-form');
  private readonly fields = byTestId('rules-fields');
  private readonly source = byTestId('rules-source');

  constructor(
    private readonly api: () => AdminApi,
    feedback: Feedback,
  ) {
    super('rules-refresh', feedback);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.save();
    });
  }

  protected fetch(): Promise<CampaignRulesView> {
    return this.api().campaignRules();
  }

  render(): void {
    const view = this.data;
    this.form.hidden = view === undefined;
    if (!view) {
      this.source.textContent = '';
      this.fields.replaceChildren();
      return;
    }
    this.source.textContent =
      view.source === 'chain' && view.updatedAt
        ? t('admin.rules.fromChain', { version: view.chainVersion ?? '', at: formatDateTime(new Date(view.updatedAt)) })
        : view.source === 'saved' && view.updatedAt
          ? t('admin.rules.saved', { at: formatDateTime(new Date(view.updatedAt)), by: view.updatedBy ?? '' })
          : t('admin.rules.fromSettings');
    this.fields.replaceChildren(
      ...Object.entries(view.rules).map(([name, rule]) =>
        h('fieldset', { className: 'rule', testId: 'rule', attrs: { 'data-rule': name } }, [
          h('legend', { text: label('rule', name) }),
          ...Object.entries(rule).map(([key, value]) => field(`${name}.${key}`, key, value)),
        ]),
      ),
    );
  }

  private async save(): Promise<void> {
    if (!this.data) return;
    const button = byTestId<HTMLButtonElement>('rules-save');
    button.disabled = true;
    try {
      this.data = await this.api().saveCampaignRules(readBack(this.data.rules, '', this.form) as CampaignRulesView['rules']);
      this.render();
      this.feedback.notice([t('admin.rules.savedNotice')]);
    } catch (err) {
      this.feedback.error(err);
    } finally {
      button.disabled = false;
    }
  }
}

function label(kind: 'rule' | 'field', key: string): string {
  const messageKey = `admin.rules.${kind}.${key}`;
  return hasMessage(messageKey) ? t(messageKey) : key;
}

/** One input per value; an object (a coupon) is a group of its own. */
function field(path: string, key: string, value: unknown): HTMLElement {
  if (value !== null && typeof value === 'object') {
    return h('fieldset', { className: 'rule-group' }, [
      h('legend', { text: label('field', key) }),
      ...Object.entries(value).map(([k, v]) => field(`${path}.${k}`, k, v)),
    ]);
  }
  const attrs: Record<string, string> = { 'data-path': path, name: path };
  let input: HTMLInputElement | HTMLSelectElement;
  if (typeof value === 'boolean') {
    input = h('input', { attrs: { ...attrs, type: 'checkbox' } });
    input.checked = value;
    return h('label', { className: 'check' }, [input, h('span', { text: label('field', key) })]);
  }
  const choices = CHOICES[key];
  if (choices) {
    input = h('select', { attrs }, choices.map((c) => h('option', { text: label('field', `${key}.${c}`), attrs: { value: c } })));
    input.value = String(value);
  } else if (typeof value === 'number') {
    input = h('input', { attrs: { ...attrs, type: 'number', step: 'any', required: '' } });
    input.value = String(value);
  } else {
    input = h('input', { attrs: { ...attrs, maxlength: '20', required: '' } });
    input.value = String(value ?? '');
  }
  return h('label', {}, [h('span', { text: label('field', key) }), input]);
}

/** The rules as the form now says, in the shape the service sent them. */
function readBack(value: unknown, path: string, form: HTMLFormElement): unknown {
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readBack(v, path ? `${path}.${k}` : k, form)]));
  }
  const input = form.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-path="${CSS.escape(path)}"]`);
  if (!input) return value;
  if (typeof value === 'boolean') return (input as HTMLInputElement).checked;
  if (typeof value === 'number') return input.value.trim() === '' ? value : Number(input.value);
  return input.value;
}
