import { createResource, createSignal, For, Show } from 'solid-js';
import { get } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';

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
        const tag = op.tags?.[0] ?? '其它';
        byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
      }
    }
    return [...byTag.entries()];
  };
  return (
    <Page title={t.apiDocs.title} actions={<input placeholder={t.common.search} onInput={(e) => setFilter(e.currentTarget.value)} />}>
      <div class="card">
        <h2>{t.apiDocs.auth}</h2>
        <p>{doc()?.info.description}</p>
        <p class="muted small">curl -H "Authorization: Bearer gk_…" {location.origin}/api/v1/whoami</p>
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
                            <code>{p.name}</code>（{p.in}
                            {p.required ? '，必填' : ''}）<code class="muted small">{JSON.stringify(p.schema)}</code>
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
                          <pre class="schema">{JSON.stringify(resolve(c.schema, doc()!), null, 2)}</pre>
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
                          <pre class="schema">{JSON.stringify(resolve(r.content!['application/json']!.schema, doc()!), null, 2)}</pre>
                        </Show>
                      </>
                    )}
                  </For>
                  <div class="muted small">错误响应统一为 {'{ "error": { "code", "message", "details?" } }'}</div>
                </details>
              )}
            </For>
          </div>
        )}
      </For>
    </Page>
  );
}
