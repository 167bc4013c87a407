import { createResource, createSignal, For, Show } from 'solid-js';
import { get } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';
import { schemaFields } from './schema-fields.ts';

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDoc {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

/** Inlines `$ref`s one level deep so that a schema reads on its own. */
function resolve(schema: unknown, doc: OpenApiDoc, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 4) return schema;
  const ref = (schema as { $ref?: string }).$ref;
  if (ref) return resolve(doc.components?.schemas?.[ref.split('/').pop()!], doc, depth + 1);
  if (Array.isArray(schema)) return schema.map((s) => resolve(s, doc, depth + 1));
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolve(v, doc, depth + 1)]));
}

/** 接口文档: the OpenAPI document of this server, rendered in the app (no external viewer, works offline). */
export function ApiDocsPage() {
  const [doc] = createResource(() => get<OpenApiDoc>('/api/openapi.json'));
  const [filter, setFilter] = createSignal('');
  const groups = () => {
    const d = doc();
    if (!d) return [];
    const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (filter() && !`${path} ${op.summary ?? ''}`.includes(filter())) continue;
        const tag = op.tags?.[0] ?? t.apiDocs.otherTag;
        byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
      }
    }
    return [...byTag.entries()];
  };
  return (
    <Page title={t.apiDocs.title} actions={<input placeholder={t.common.search} onInput={(e) => setFilter(e.currentTarget.value)} />}>
      <div class="card" data-testid="api-quickstart">
        <h2>{t.apiDocs.quickStart}</h2>
        <p>{doc()?.info.description}</p>
        <p>
          <a class="button" href="/api/openapi.json" download="openapi.json" data-testid="openapi-download">
            {t.apiDocs.download}
          </a>
        </p>
        <h4>{t.apiDocs.step1}</h4>
        <pre class="schema">{t.apiDocs.curlAuth(location.origin)}</pre>
        <h4>{t.apiDocs.step2}</h4>
        <pre class="schema">{t.apiDocs.curlSend(location.origin)}</pre>
        <p class="muted small">{t.apiDocs.sendNote}</p>
      </div>
      <For each={groups()}>
        {([tag, ops]) => (
          <div class="card" data-testid="api-tag">
            <h2>{tag}</h2>
            <For each={ops}>
              {({ method, path, op }) => (
                <details class="api-op">
                  <summary>
                    <code class="method">{method}</code>
                    <code>{path}</code> — {op.summary}
                  </summary>
                  <Show when={op.parameters?.length}>
                    <h4>{t.apiDocs.params}</h4>
                    <ul>
                      <For each={op.parameters}>
                        {(p) => (
                          <li>
                            <code>{p.name}</code>
                            {t.fmt.inParens(p.in + (p.required ? t.apiDocs.requiredMark : ''))}
                            <code class="muted small">{JSON.stringify(p.schema)}</code>
                          </li>
                        )}
                      </For>
                    </ul>
                  </Show>
                  <Show when={op.requestBody?.content}>
                    <h4>{t.apiDocs.body}</h4>
                    <For each={Object.entries(op.requestBody!.content!)}>
                      {([type, c]) => (
                        <>
                          <div class="muted small">{type}</div>
                          <Fields schema={c.schema} doc={doc()!} />
                        </>
                      )}
                    </For>
                  </Show>
                  <h4>{t.apiDocs.responses}</h4>
                  <For each={Object.entries(op.responses ?? {})}>
                    {([code, r]) => (
                      <>
                        <div>
                          {code} {r.description}
                        </div>
                        <Show when={r.content?.['application/json']?.schema}>
                          <Fields schema={r.content!['application/json']!.schema} doc={doc()!} />
                        </Show>
                      </>
                    )}
                  </For>
                  <div class="muted small">{t.apiDocs.errorShape}</div>
                </details>
              )}
            </For>
          </div>
        )}
      </For>
    </Page>
  );
}

/** A schema as a table of its fields (name, type, required, description, example); the raw schema when it has no fields. */
function Fields(props: { schema: unknown; doc: OpenApiDoc }) {
  const rows = () => schemaFields(props.schema, props.doc.components?.schemas ?? {});
  return (
    <Show when={rows().length} fallback={<pre class="schema">{JSON.stringify(resolve(props.schema, props.doc), null, 2)}</pre>}>
      <table class="grid api-fields">
        <thead>
          <tr>
            <th>{t.apiDocs.field}</th>
            <th>{t.apiDocs.type}</th>
            <th>{t.apiDocs.required}</th>
            <th>{t.apiDocs.description}</th>
            <th>{t.apiDocs.example}</th>
          </tr>
        </thead>
        <tbody>
          <For each={rows()}>
            {(f) => (
              <tr>
                <td>
                  <code>{f.name}</code>
                </td>
                <td>
                  <code class="small">{f.type}</code>
                </td>
                <td>{f.required ? t.common.yes : ''}</td>
                <td>{f.description}</td>
                <td>
                  <code class="small">{f.example}</code>
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </Show>
  );
}
