import './style.css';
import { adminPage } from './admin.ts';
import { ApiError, api, type Me, setToken, type TaskView, token } from './api.ts';
import { clear, h, isTyping } from './dom.ts';
import { type TaskPage, taskPage } from './task.ts';

interface Queue {
  done: number;
  open: number;
  available: number;
  items: { id: number; type: string; status: string }[];
}

const app = document.getElementById('app')!;
const main = h('main', {});
const toastEl = h('div', { class: 'toast', attrs: { role: 'status', 'aria-live': 'polite' } });
const progressEl = h('span', { class: 'progress' });
let me: Me | null = null;
let page: TaskPage | null = null;
let help: HTMLElement | null = null;

function toast(msg: string, bad = false): void {
  toastEl.textContent = msg;
  toastEl.className = bad ? 'toast bad show' : 'toast show';
  setTimeout(() => toastEl.classList.remove('show'), 2500);
}

async function refreshProgress(): Promise<void> {
  const q = await api<Queue>('GET', '/api/queue');
  progressEl.textContent = `${q.done} done · ${q.open} open · ${q.available} left`;
}

async function next(): Promise<void> {
  const r = await api<{ taskId?: number; done?: boolean }>('POST', '/api/next');
  if (r.taskId) location.hash = `#/task/${r.taskId}`;
  else {
    toast('No more tasks for you. Thank you!');
    location.hash = '#/';
  }
}

async function undo(): Promise<void> {
  try {
    const r = await api<{ taskId: number }>('POST', '/api/undo');
    toast(`Undid your last submission (task ${r.taskId})`);
    if (location.hash === `#/task/${r.taskId}`) await route();
    else location.hash = `#/task/${r.taskId}`;
  } catch (e) {
    toast((e as Error).message, true);
  }
}

const GLOBAL_KEYS: Record<string, { help: string; run: () => void }> = {
  N: { help: 'next task', run: () => void next() },
  U: { help: 'undo your last submission', run: () => void undo() },
  G: {
    help: 'guidelines',
    run: () => {
      location.hash = '#/guidelines';
    },
  },
  H: {
    help: 'home (your queue)',
    run: () => {
      location.hash = '#/';
    },
  },
  '?': { help: 'show / hide these shortcuts', run: () => toggleHelp() },
};

function toggleHelp(): void {
  if (help) {
    help.remove();
    help = null;
    return;
  }
  const rows = [
    ['Ctrl+Enter', 'submit'],
    ...Object.entries(GLOBAL_KEYS).map(([k, v]) => [
      k === 'N' || k === 'U' || k === 'G' || k === 'H' ? `Shift+${k.toLowerCase()}` : k,
      v.help,
    ]),
    ...Object.entries(page?.keys ?? {}).map(([k, v]) => [k, v.help]),
  ];
  help = h(
    'div',
    { class: 'help', attrs: { role: 'dialog' } },
    h('h3', {}, 'Keyboard shortcuts'),
    h('table', {}, h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('td', {}, h('kbd', {}, k)), h('td', {}, v))))),
  );
  document.body.appendChild(help);
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void page?.submit();
    return;
  }
  if (isTyping(e.target)) {
    if (e.key === 'Escape') (e.target as HTMLElement).blur();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const action = GLOBAL_KEYS[e.key] ?? page?.keys[e.key];
  if (action) {
    e.preventDefault();
    action.run();
  }
});

function header(): HTMLElement {
  return h(
    'header',
    {},
    h('b', {}, 'mmalign studio'),
    h('span', { class: 'project' }, me?.project ?? ''),
    h(
      'nav',
      {},
      h('a', { attrs: { href: '#/' } }, 'My queue'),
      h('a', { attrs: { href: '#/guidelines' } }, 'Guidelines'),
      me?.role === 'admin' ? h('a', { attrs: { href: '#/admin' } }, 'Admin') : null,
    ),
    progressEl,
    h('span', { class: 'who' }, me ? `${me.name} (${me.role})` : ''),
    h(
      'button',
      {
        class: 'link',
        on: {
          click: () => {
            setToken(null);
            location.reload();
          },
        },
      },
      'log out',
    ),
  );
}

function login(msg = ''): void {
  const input = h('input', { attrs: { type: 'password', placeholder: 'token', id: 'token', autocomplete: 'off' } });
  clear(app);
  app.append(
    h(
      'form',
      {
        class: 'login',
        on: {
          submit: (e) => {
            e.preventDefault();
            setToken(input.value.trim());
            void start();
          },
        },
      },
      h('h1', {}, 'mmalign studio'),
      h('p', {}, 'Paste the token your admin gave you.'),
      msg ? h('p', { class: 'error' }, msg) : null,
      input,
      h('button', { class: 'primary', attrs: { type: 'submit' } }, 'Sign in'),
    ),
  );
  input.focus();
}

async function home(): Promise<HTMLElement> {
  const q = await api<Queue>('GET', '/api/queue');
  return h(
    'section',
    { class: 'home' },
    h('h2', {}, `Hello ${me?.name ?? ''}`),
    h('p', {}, `${q.done} submitted, ${q.open} open, ${q.available} more available.`),
    h(
      'button',
      { class: 'primary', attrs: { id: 'start' }, on: { click: () => void next() } },
      'Next task',
      h('kbd', {}, 'Shift+n'),
    ),
    h('p', { class: 'hint' }, 'Press ? for keyboard shortcuts; Shift+u undoes your last submission.'),
    h(
      'ul',
      { class: 'my-items' },
      ...q.items.map((i) =>
        h('li', {}, h('a', { attrs: { href: `#/task/${i.id}` } }, `task ${i.id}`), ` ${i.type} · ${i.status}`),
      ),
    ),
  );
}

async function route(): Promise<void> {
  page = null;
  const hash = location.hash || '#/';
  clear(main);
  try {
    const m = /^#\/task\/(\d+)$/.exec(hash);
    if (m) {
      const view = await api<TaskView>('GET', `/api/tasks/${m[1]}`);
      page = taskPage(view, () => void refreshProgress().then(next), toast);
      main.append(page.el);
    } else if (hash === '#/guidelines') {
      const g = await api<{ text: string }>('GET', '/api/guidelines');
      main.append(
        h('section', { class: 'guidelines' }, h('h2', {}, 'Guidelines'), h('div', { class: 'guide-text' }, g.text)),
      );
    } else if (hash === '#/admin') main.append(await adminPage(toast));
    else main.append(await home());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return login(e.message);
    main.append(h('p', { class: 'error' }, (e as Error).message));
  }
  void refreshProgress().catch(() => {});
}

async function start(): Promise<void> {
  try {
    me = await api<Me>('GET', '/api/me');
  } catch (e) {
    return login(token() ? (e as Error).message : '');
  }
  clear(app);
  app.append(header(), main, toastEl);
  await route();
}

const fromUrl = /[#&]token=([^&]+)/.exec(location.hash);
if (fromUrl) {
  setToken(decodeURIComponent(fromUrl[1]));
  history.replaceState(null, '', `${location.pathname}#/`);
}
window.addEventListener('hashchange', () => void route());
void start();
