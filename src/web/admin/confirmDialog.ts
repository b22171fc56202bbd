import { byTestId } from '../shared/dom.js';

/**
 * Asks before an action that cannot be undone. A page dialog rather than window.confirm so
 * it follows the page's language and styling and a browser test can drive it.
 */
export function confirmAction(message: string): Promise<boolean> {
  const dialog = byTestId<HTMLDialogElement>('confirm-dialog');
  byTestId('confirm-message').textContent = message;
  dialog.returnValue = '';
  dialog.showModal();
  byTestId('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}
