import { For } from 'solid-js';

/** A group of an address book (a department in the enterprise book), with its contact count. */
export interface Group {
  id: string;
  parentId: string | null;
  name: string;
  count: number;
}

/** Groups in tree order with their depth. */
export function ordered(groups: readonly Group[]): (Group & { depth: number })[] {
  const out: (Group & { depth: number })[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const g of groups.filter((x) => x.parentId === parent)) {
      out.push({ ...g, depth });
      walk(g.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** Tick boxes for groups, indented by depth. */
export function GroupChecks(props: { groups: (Group & { depth: number })[]; value: string[]; onChange: (v: string[]) => void }) {
  return (
    <div class="picker">
      <For each={props.groups}>
        {(g) => (
          <label style={{ 'padding-left': `${g.depth * 14}px` }}>
            <input
              type="checkbox"
              checked={props.value.includes(g.id)}
              onChange={() => props.onChange(props.value.includes(g.id) ? props.value.filter((x) => x !== g.id) : [...props.value, g.id])}
            />
            {g.name}
          </label>
        )}
      </For>
    </div>
  );
}
