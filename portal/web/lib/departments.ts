import { createResource } from 'solid-js';
import { get } from './api.ts';

export interface Department {
  id: string;
  parentId: string | null;
  name: string;
  sort: number;
  remark: string;
  memberCount: number;
  childCount: number;
}

export interface DeptNode extends Department {
  children: DeptNode[];
  depth: number;
}

/** Builds the tree from the flat list (children in sort order). */
export function buildTree(items: Department[]): DeptNode[] {
  const byId = new Map<string, DeptNode>(items.map((d) => [d.id, { ...d, children: [], depth: 0 }]));
  const roots: DeptNode[] = [];
  for (const n of byId.values()) (n.parentId && byId.get(n.parentId) ? byId.get(n.parentId)!.children : roots).push(n);
  const setDepth = (ns: DeptNode[], d: number) => ns.forEach((n) => ((n.depth = d), setDepth(n.children, d + 1)));
  setDepth(roots, 0);
  return roots;
}

/** Depth-first list, for indented <select> options. */
export function flatten(nodes: DeptNode[]): DeptNode[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}

export const departmentsResource = () => createResource(() => get<{ items: Department[] }>('/api/departments').then((r) => r.items));
