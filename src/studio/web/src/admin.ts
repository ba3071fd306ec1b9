import { api } from './api.ts';
import { clear, h } from './dom.ts';

interface Progress {
  tasks: number;
  complete: number;
  overlap: number;
  byType: { type: string; n: number }[];
  users: { name: string; role: string; assigned: number; submitted: number; drafts: number }[];
}
interface Agreement {
  types: {
    type: string;
    metric: string;
    annotators: string[];
    units: number;
    pairableUnits: number;
    alpha: number | null;
    fleiss: number | null;
    pairs: { a: string; b: string; units: number; kappa: number | null; agreement: number | null }[];
  }[];
  judges: { judge: string; type: string; units: number; agreement: number | null; kappa: number | null }[];
}
interface Disagreement {
  taskId: number;
  type: string;
  adjudicated: boolean;
  responses: string[];
  labels: { submission: number; user: string; label: unknown }[];
}
interface SettingsView {
  name: string;
  overlap: number;
  showAiSuggestions: boolean;
  guidelines: string;
}

/** A stored label in words; response numbers refer to the numbered list above it (canonical order). */
function describeCanonical(label: unknown): string {
  const l = (typeof label === 'object' && label !== null ? label : {}) as Record<string, unknown>;
  const reason = typeof l.reason === 'string' ? ` (“${l.reason}”)` : '';
  if (typeof l.winner === 'number') return `prefers #${l.winner + 1}${reason}`;
  if (typeof l.winner === 'string') return `${l.winner === 'tie' ? 'tie' : 'both bad'}${reason}`;
  if (Array.isArray(l.ranks)) return `ranks ${l.ranks.map((r, i) => `#${i + 1}=${r}`).join(', ')}`;
  if (typeof l.label === 'boolean') return l.label ? 'good' : 'bad';
  if (Array.isArray(l.scores))
    return l.scores
      .map(
        (set: Record<string, { score: number }>, i) =>
          `#${i + 1}: ${Object.entries(set)
            .map(([a, x]) => `${a} ${x.score}`)
            .join(', ')}`,
      )
      .join(' · ');
  if (Array.isArray(l.segments))
    return l.segments.length === 0
      ? 'no hallucination'
      : l.segments
          .map(
            (x: { text?: string; correction?: string; tag?: string }) =>
              `“${x.text}” → “${x.correction}” [${x.tag ?? 'other'}]`,
          )
          .join('; ');
  return JSON.stringify(label);
}

const num = (x: number | null, d = 3) => (x === null ? '—' : x.toFixed(d));
const table = (head: string[], rows: (string | number)[][], cls = '') =>
  h(
    'table',
    { class: cls },
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, String(c)))))),
  );

/** Admin page: progress, agreement, judge agreement, adjudication queue, export, settings and accounts. */
export async function adminPage(toast: (m: string, bad?: boolean) => void): Promise<HTMLElement> {
  const root = h('section', { class: 'admin' });
  const [p, ag, dis, st] = await Promise.all([
    api<Progress>('GET', '/api/admin/progress'),
    api<Agreement>('GET', '/api/admin/agreement'),
    api<Disagreement[]>('GET', '/api/admin/disagreements'),
    api<SettingsView>('GET', '/api/admin/settings'),
  ]);
  root.append(
    h('h2', {}, 'Progress'),
    h(
      'p',
      {},
      `${p.complete} of ${p.tasks} tasks have ${p.overlap} label(s); `,
      p.byType.map((t) => `${t.type}: ${t.n}`).join(', '),
    ),
    table(
      ['account', 'role', 'assigned', 'submitted', 'drafts'],
      p.users.map((u) => [u.name, u.role, u.assigned, u.submitted, u.drafts]),
      'progress',
    ),
    h('h2', {}, 'Agreement'),
  );
  if (ag.types.length === 0) root.append(h('p', {}, 'No labels yet.'));
  for (const t of ag.types)
    root.append(
      h(
        'div',
        { class: 'agreement', attrs: { 'data-type': t.type } },
        h('h3', {}, t.type),
        h(
          'p',
          {},
          `Krippendorff's alpha (${t.metric}): `,
          h('b', { class: 'alpha' }, num(t.alpha)),
          ` · Fleiss' kappa: `,
          h('b', { class: 'fleiss' }, num(t.fleiss)),
          ` · ${t.pairableUnits} of ${t.units} units labelled twice or more`,
        ),
        table(
          ['annotator A', 'annotator B', 'shared units', "Cohen's kappa", '% agreement'],
          t.pairs.map((x) => [
            x.a,
            x.b,
            x.units,
            num(x.kappa),
            x.agreement === null ? '—' : `${(100 * x.agreement).toFixed(1)}%`,
          ]),
          'pairs',
        ),
      ),
    );
  root.append(
    h('h2', {}, 'Human vs AI judge'),
    ag.judges.length === 0
      ? h('p', {}, 'No AI-judge suggestions on labelled tasks.')
      : table(
          ['judge', 'task type', 'units', '% agreement with human majority', "Cohen's kappa"],
          ag.judges.map((j) => [
            j.judge,
            j.type,
            j.units,
            j.agreement === null ? '—' : `${(100 * j.agreement).toFixed(1)}%`,
            num(j.kappa),
          ]),
          'judges',
        ),
  );

  const queue = h('div', { class: 'queue' });
  root.append(h('h2', {}, `Disagreements (${dis.length})`), queue);
  for (const d of dis)
    queue.append(
      h(
        'div',
        { class: 'disagreement', attrs: { 'data-task': d.taskId } },
        h('h3', {}, `task ${d.taskId} · ${d.type}${d.adjudicated ? ' · adjudicated' : ''}`),
        h('ol', { class: 'resp' }, ...d.responses.map((r) => h('li', {}, r))),
        ...d.labels.map((l) =>
          h(
            'div',
            { class: 'label-row' },
            h('b', {}, l.user),
            ' ',
            h('span', { class: 'label-text' }, describeCanonical(l.label)),
            ' ',
            h(
              'button',
              {
                attrs: { 'data-use': l.submission },
                on: {
                  click: async () => {
                    await api('POST', `/api/admin/tasks/${d.taskId}/adjudicate`, { submission: l.submission });
                    toast(`task ${d.taskId}: ${l.user}'s label is final`);
                  },
                },
              },
              `use ${l.user}'s label`,
            ),
          ),
        ),
      ),
    );

  const exportOut = h('pre', { class: 'export-out' });
  const exportInfo = h('p', { class: 'export-info' });
  const doExport = async (mode: string) => {
    const res = await fetch(`/api/admin/export?mode=${mode}`, {
      headers: { Authorization: `Bearer ${localStorage.getItem('mmalign-studio-token') ?? ''}` },
    });
    const text = await res.text();
    const n = res.headers.get('x-mmalign-records') ?? '0';
    const unresolved = res.headers.get('x-mmalign-unresolved') || '';
    clear(exportInfo);
    const a = h(
      'a',
      { attrs: { download: `preferences-${mode}.jsonl`, class: 'download' } },
      `download ${n} record(s)`,
    );
    a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    exportInfo.append(`${mode}: ${n} record(s)`, unresolved ? `, unresolved tasks: ${unresolved}` : '', ' · ', a);
    exportOut.textContent = text.split('\n').slice(0, 3).join('\n');
  };
  root.append(
    h('h2', {}, 'Export'),
    h(
      'div',
      { class: 'export' },
      h(
        'button',
        { attrs: { 'data-export': 'majority' }, on: { click: () => void doExport('majority') } },
        'Export majority vote',
      ),
      h(
        'button',
        { attrs: { 'data-export': 'all' }, on: { click: () => void doExport('all') } },
        "Export every annotator's label",
      ),
    ),
    exportInfo,
    exportOut,
  );

  const show = h('input', { attrs: { type: 'checkbox', id: 'show-ai' } });
  show.checked = st.showAiSuggestions;
  const overlap = h('input', { attrs: { type: 'number', min: 1, max: 100, id: 'overlap' } });
  overlap.value = String(st.overlap);
  const guide = h('textarea', { attrs: { rows: 6, id: 'guidelines-edit' } });
  guide.value = st.guidelines;
  root.append(
    h('h2', {}, 'Settings'),
    h('label', {}, show, ' show AI-judge suggestions to annotators'),
    h('label', {}, ' annotators per task ', overlap),
    guide,
    h(
      'button',
      {
        on: {
          click: async () => {
            await api('PUT', '/api/admin/settings', {
              showAiSuggestions: show.checked,
              overlap: Number(overlap.value),
              guidelines: guide.value,
            });
            toast('settings saved');
          },
        },
      },
      'Save settings',
    ),
  );

  const uname = h('input', { attrs: { placeholder: 'new account name', id: 'new-user' } });
  const role = h(
    'select',
    {},
    h('option', { attrs: { value: 'annotator' } }, 'annotator'),
    h('option', { attrs: { value: 'admin' } }, 'admin'),
  );
  const tokenOut = h('code', { class: 'new-token' });
  root.append(
    h('h2', {}, 'Accounts'),
    h(
      'div',
      {},
      uname,
      role,
      h(
        'button',
        {
          on: {
            click: async () => {
              try {
                const r = await api<{ token: string }>('POST', '/api/admin/users', {
                  name: uname.value,
                  role: role.value,
                });
                tokenOut.textContent = `token for ${uname.value} (shown once): ${r.token}`;
              } catch (e) {
                toast((e as Error).message, true);
              }
            },
          },
        },
        'Create',
      ),
    ),
    tokenOut,
  );
  return root;
}
