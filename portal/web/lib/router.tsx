import { createSignal, type JSX } from 'solid-js';

/** A tiny history router: the path is a signal; links push state. */
const [path, setPath] = createSignal(location.pathname);
window.addEventListener('popstate', () => setPath(location.pathname));

export { path };

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  setPath(location.pathname);
}

export function Link(props: { href: string; class?: string; children: JSX.Element; title?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      title={props.title}
      classList={{ active: path() === props.href || (props.href !== '/' && path().startsWith(props.href + '/')) }}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
