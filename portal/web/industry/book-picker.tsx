import { createResource, createSignal, For, Show, type Accessor, type Setter } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { ti } from './zh-CN.ts';

/** A group (personal book) or department (enterprise book) as the groups API lists it: server order, flat. */
export interface BookGroup {
  id: string;
  parentId: string | null;
  name: string;
  /** Contacts directly in this group (not its sub-groups). */
  count: number;
}

export interface PickerNode extends BookGroup {
  depth: number;
  /** Contacts in the group and all its sub-groups: what picking it sends to (the server takes the subtree). */
  total: number;
  children: PickerNode[];
}

/**
 * The real tree from the flat list: each child right under its parent, whatever order the server
 * gave them in, depth for the indent, and the subtree's count (a picked group sends to its
 * sub-groups too). An orphan (parent not visible) shows at the top.
 */
export function groupTree(items: readonly BookGroup[]): PickerNode[] {
  const byId = new Map<string, PickerNode>(items.map((g) => [g.id, { ...g, depth: 0, total: g.count, children: [] }]));
  const roots: PickerNode[] = [];
  for (const n of byId.values()) {
    const parent = n.parentId ? byId.get(n.parentId) : undefined;
    (parent && parent !== n ? parent.children : roots).push(n);
  }
  const walk = (ns: PickerNode[], depth: number, seen: Set<string>): number =>
    ns.reduce((sum, n) => {
      if (seen.has(n.id)) return sum;
      seen.add(n.id);
      n.depth = depth;
      n.total = n.count + walk(n.children, depth + 1, seen);
      return sum + n.total;
    }, 0);
  walk(roots, 0, new Set());
  return roots;
}

/** Depth-first: parents before their children. */
export function flattenTree(nodes: readonly PickerNode[]): PickerNode[] {
  return nodes.flatMap((n) => [n, ...flattenTree(n.children)]);
}

interface ContactHit {
  id: string;
  name: string;
  phone: string;
}

const toggle = (get: Accessor<string[]>, set: Setter<string[]>, id: string) =>
  set(get().includes(id) ? get().filter((x) => x !== id) : [...get(), id]);

/** 从通讯录选择: both books as trees with subtree counts, and single contacts found by name or number. */
export function BookPicker(props: {
  groupIds: Accessor<string[]>;
  setGroupIds: Setter<string[]>;
  departmentIds: Accessor<string[]>;
  setDepartmentIds: Setter<string[]>;
  contactIds: Accessor<string[]>;
  setContactIds: Setter<string[]>;
}) {
  const [groups] = createResource(() =>
    get<{ items: BookGroup[]; unassigned: number }>('/api/industry/books/personal/groups').catch(() => ({ items: [], unassigned: 0 })),
  );
  const [depts] = createResource(() =>
    get<{ items: BookGroup[]; unassigned: number }>('/api/industry/books/enterprise/groups').catch(() => ({ items: [], unassigned: 0 })),
  );
  const [keyword, setKeyword] = createSignal('');
  const [hits] = createResource(keyword, async (k) => {
    if (!k.trim()) return [];
    const q = qs({ keyword: k.trim(), page: 1, pageSize: 20 });
    const [a, b] = await Promise.all(
      (['personal', 'enterprise'] as const).map((book) =>
        get<{ items: ContactHit[] }>(`/api/industry/books/${book}/contacts${q}`).then(
          (r) => r.items,
          () => [],
        ),
      ),
    );
    return [...a!, ...b!];
  });
  // Names of the contacts picked, for the chips (kept when the search changes).
  const [names, setNames] = createSignal<Record<string, string>>({});
  const pickContact = (c: ContactHit) => {
    setNames({ ...names(), [c.id]: `${c.name} ${c.phone}` });
    toggle(props.contactIds, props.setContactIds, c.id);
  };
  const picked = () => props.groupIds().length + props.departmentIds().length + props.contactIds().length;
  return (
    <div class="card picker" data-testid="book-picker">
      <h2>{ti.send.pickBook}</h2>
      <p class="muted small">{ti.send.picked(picked())}</p>
      <strong class="small">{ti.nav.personal}</strong>
      <label>
        <input
          type="checkbox"
          checked={props.groupIds().includes('unassigned')}
          onChange={() => toggle(props.groupIds, props.setGroupIds, 'unassigned')}
        />
        {ti.books.unassigned}
        {ti.send.lp}
        {groups()?.unassigned ?? 0}
        {ti.send.rp}
      </label>
      <For each={flattenTree(groupTree(groups()?.items ?? []))}>
        {(g) => (
          <label data-group={g.id} data-depth={g.depth} style={{ 'padding-left': `${g.depth * 16}px` }}>
            <input
              type="checkbox"
              checked={props.groupIds().includes(g.id)}
              onChange={() => toggle(props.groupIds, props.setGroupIds, g.id)}
            />
            {g.name}
            {ti.send.lp}
            <span data-count>{g.total}</span>
            {ti.send.rp}
          </label>
        )}
      </For>
      <strong class="small">{ti.nav.enterprise}</strong>
      <For each={flattenTree(groupTree(depts()?.items ?? []))}>
        {(d) => (
          <label data-department={d.id} data-depth={d.depth} style={{ 'padding-left': `${d.depth * 16}px` }}>
            <input
              type="checkbox"
              checked={props.departmentIds().includes(d.id)}
              onChange={() => toggle(props.departmentIds, props.setDepartmentIds, d.id)}
            />
            {d.name}
            {ti.send.lp}
            <span data-count>{d.total}</span>
            {ti.send.rp}
          </label>
        )}
      </For>
      <strong class="small">{ti.send.pickContacts}</strong>
      <input
        type="search"
        data-testid="contact-search"
        placeholder={ti.books.keyword}
        value={keyword()}
        onInput={(e) => setKeyword(e.currentTarget.value)}
      />
      <For each={hits() ?? []}>
        {(c) => (
          <label data-contact={c.id}>
            <input type="checkbox" checked={props.contactIds().includes(c.id)} onChange={() => pickContact(c)} />
            {c.name} {c.phone}
          </label>
        )}
      </For>
      <Show when={props.contactIds().length}>
        <ul class="picked-contacts" data-testid="picked-contacts">
          <For each={props.contactIds()}>
            {(id) => (
              <li>
                {names()[id] ?? id}{' '}
                <button
                  type="button"
                  class="link"
                  aria-label={ti.send.unpick}
                  onClick={() => toggle(props.contactIds, props.setContactIds, id)}
                >
                  ×
                </button>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </div>
  );
}
