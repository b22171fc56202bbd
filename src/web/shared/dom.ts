/** DOM helpers shared by the pages; member names are data, so text never goes through innerHTML. */

/** The element a page cannot work without; a missing hook is a bug in the page's HTML. */
export function byTestId<T extends HTMLElement = HTMLElement>(testId: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(`[data-testid="${testId}"]`);
  if (!found) throw new Error(`The page has no element with data-testid="${testId}".`);
  return found;
}

export interface ElementSpec {
  className?: string;
  text?: string;
  testId?: string;
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  spec: ElementSpec = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (spec.className) node.className = spec.className;
  if (spec.text !== undefined) node.textContent = spec.text;
  if (spec.testId) node.dataset.testid = spec.testId;
  for (const [name, value] of Object.entries(spec.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}
