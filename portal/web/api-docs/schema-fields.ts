/** A JSON Schema (as OpenAPI 3.1 writes it) read as a list of fields: what a person reads in a doc. */
export interface SchemaField {
  /** Dotted path; `[]` marks an array's items (`items[].id`). */
  name: string;
  type: string;
  required: boolean;
  description: string;
  example: string;
}

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  allOf?: Schema[];
  oneOf?: Schema[];
  description?: string;
  example?: unknown;
  format?: string;
};

const typeOf = (s: Schema, refName?: string): string => {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map((a) => typeOf(a)).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? refName ?? 'object');
  if (t === 'array' && s.items) return `${typeOf(s.items)}[]`;
  return s.format ? `${t} (${s.format})` : t;
};

/**
 * The fields of a schema, nested objects and arrays of objects flattened with dotted names, down to
 * `maxDepth`. `$ref`s are looked up in `components` (a cycle stops at the depth limit).
 * @example schemaFields({ type: 'object', required: ['id'], properties: { id: { type: 'string', description: '编号' } } })
 * // [{ name: 'id', type: 'string', required: true, description: '编号', example: '' }]
 */
export function schemaFields(schema: unknown, components: Record<string, unknown> = {}, maxDepth = 3): SchemaField[] {
  const out: SchemaField[] = [];
  const deref = (s: Schema, depth = 0): [Schema, string | undefined] => {
    let name: string | undefined;
    for (let i = 0; s?.$ref && i < 10; i++) {
      name = s.$ref.split('/').pop();
      s = (components[name!] ?? {}) as Schema;
    }
    s ??= {};
    // `allOf` is how OpenAPI 3.1 writes a referred schema with something beside it (nullable, a
    // description): its members read as one schema, the first description and name found kept.
    if (!s.allOf || depth > 5) return [s, name];
    const merged: Schema = { ...s, allOf: undefined };
    for (const m of s.allOf) {
      const [d, n] = deref(m, depth + 1);
      name ??= n;
      merged.description ??= d.description;
      merged.example ??= d.example;
      if (d.type) merged.type = d.type;
      if (d.properties) merged.properties = { ...d.properties, ...merged.properties };
      if (d.required) merged.required = [...(merged.required ?? []), ...d.required];
      merged.items ??= d.items;
      merged.enum ??= d.enum;
    }
    return [merged, name];
  };
  const walk = (raw: Schema, prefix: string, depth: number) => {
    const [s] = deref(raw);
    for (const [key, rawProp] of Object.entries(s.properties ?? {})) {
      const [p, refName] = deref(rawProp);
      const name = prefix ? `${prefix}.${key}` : key;
      out.push({
        name,
        type: typeOf(p, refName),
        required: (s.required ?? []).includes(key),
        description: rawProp.description ?? p.description ?? '',
        example: p.example === undefined && rawProp.example === undefined ? '' : JSON.stringify(rawProp.example ?? p.example),
      });
      if (depth + 1 >= maxDepth) continue;
      if (p.properties) walk(p, name, depth + 1);
      else if (p.items) {
        const [item] = deref(p.items);
        if (item.properties) walk(item, `${name}[]`, depth + 1);
      }
    }
  };
  walk(schema as Schema, '', 0);
  return out;
}
