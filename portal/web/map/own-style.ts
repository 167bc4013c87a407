import { mt } from './zh-CN.ts';

/** Origins the page's Content Security Policy refused to connect to, as the browser reported them. */
const refusedOrigins = new Set<string>();
if (typeof document !== 'undefined')
  document.addEventListener('securitypolicyviolation', (e) => {
    const origin = originOf(e.blockedURI);
    if (origin) refusedOrigins.add(origin);
  });

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** A style URL the settings accept: an absolute http(s) address. Empty means the offline base map. */
export function isStyleUrl(url: string): boolean {
  if (!url) return true;
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * Why a deployment's own style did not load, for a person: the HTTP status, a server that does not
 * answer, the portal's security policy refusing its origin, or an answer that is not a style.
 *
 * @example styleFailureText('https://map.example/style.json', { status: 404 })
 * // '无法加载自定义地图样式 https://map.example/style.json：服务器返回 HTTP 404。已改用离线底图；…'
 */
export function styleFailureText(url: string, error: unknown, refused = refusedOrigins.has(originOf(url) ?? '')): string {
  const status = (error as { status?: unknown } | undefined)?.status;
  const reason = refused
    ? mt.styleRefused
    : typeof status === 'number' && status >= 400
      ? mt.styleHttp(status)
      : status === 0
        ? mt.styleUnreachable
        : mt.styleNotStyle;
  return mt.styleFailed(url, reason);
}

/** Shows `text` over the map (top left, below nothing else), with a button that closes it. */
export function showMapNotice(container: HTMLElement, text: string): void {
  container.querySelector('[data-testid="map-notice"]')?.remove();
  const el = document.createElement('div');
  el.dataset.testid = 'map-notice';
  el.setAttribute('role', 'alert');
  Object.assign(el.style, {
    position: 'absolute',
    top: '8px',
    left: '8px',
    right: '56px',
    zIndex: '3',
    padding: '8px 32px 8px 12px',
    borderRadius: '4px',
    background: 'rgba(255, 244, 229, 0.96)',
    color: '#7a3b00',
    border: '1px solid #f0a040',
    fontSize: '13px',
    lineHeight: '1.5',
  });
  const msg = document.createElement('span');
  msg.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.title = mt.close;
  Object.assign(close.style, {
    position: 'absolute',
    top: '4px',
    right: '6px',
    border: '0',
    background: 'none',
    cursor: 'pointer',
    fontSize: '16px',
  });
  close.onclick = () => el.remove();
  el.append(msg, close);
  container.append(el);
}
