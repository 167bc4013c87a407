/**
 * Cells written into CSV or Excel exports. A cell starting with `= + - @` (or a tab / carriage
 * return) would be run as a formula by Excel (CWE-1236, CSV injection): prefix it with `'`.
 */
export function safeCell(v: string | number | null | undefined): string | number {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return v;
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

/** Default subject: the first 20 characters of the content (the original product's rule). */
export function defaultSubject(subject: string | undefined, content: string): string {
  const s = subject?.trim();
  return s ? s : Array.from(content.trim()).slice(0, 20).join('');
}
