import cliProgress from 'cli-progress';

/**
 * Progress for long work: a bar with rate and ETA on a TTY, plain `label: done/total (rate/s)` lines otherwise
 * (at most one every `intervalMs`), so logs of CI and batch jobs stay readable.
 */
export interface Progress {
  tick(n?: number, info?: Record<string, string | number>): void;
  /** set the absolute count (for callbacks that report `done` rather than increments) */
  update(done: number, info?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Bars not yet stopped: an interrupt stops them all, so the cursor and line wrap come back. */
const live = new Set<Progress>();

/** Stop every running bar and give the terminal back its cursor and line wrap. */
export function stopAllProgress(stream: NodeJS.WriteStream = process.stderr): void {
  for (const p of [...live]) p.stop();
  // cli-progress restores these on stop; say it again in case a bar was torn down mid-render
  if (stream.isTTY) stream.write('\x1b[?25h\x1b[?7h');
}

export function createProgress(
  label: string,
  total: number,
  opts: { stream?: NodeJS.WriteStream; intervalMs?: number; unit?: string } = {},
): Progress {
  const p = createBar(label, total, opts);
  const stop = p.stop.bind(p);
  p.stop = () => {
    if (!live.delete(p)) return;
    stop();
  };
  live.add(p);
  return p;
}

function createBar(
  label: string,
  total: number,
  opts: { stream?: NodeJS.WriteStream; intervalMs?: number; unit?: string },
): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'it';
  const started = Date.now();
  let done = 0;
  let info: Record<string, string | number> = {};
  const rate = () => done / Math.max(1e-3, (Date.now() - started) / 1000);
  const infoText = () =>
    Object.entries(info)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(' ');
  if (stream.isTTY && process.env.CI !== 'true') {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {rate} ${unit}/s eta {eta_formatted} {info}`,
        stream,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0', info: '' });
    return {
      tick(n = 1, i) {
        this.update(done + n, i);
      },
      update(d, i) {
        done = d;
        if (i) info = i;
        bar.update(done, { rate: rate().toFixed(1), info: infoText() });
      },
      setTotal(t) {
        bar.setTotal(t);
        total = t;
      },
      stop() {
        bar.stop();
      },
    };
  }
  const intervalMs = opts.intervalMs ?? 2000;
  let last = 0;
  const line = () =>
    stream.write(
      `${label}: ${done}/${total} (${rate().toFixed(1)} ${unit}/s)${Object.keys(info).length ? ` ${infoText()}` : ''}\n`,
    );
  return {
    tick(n = 1, i) {
      this.update(done + n, i);
    },
    update(d, i) {
      done = d;
      if (i) info = i;
      const now = Date.now();
      if (now - last >= intervalMs || done === total) {
        last = now;
        line();
      }
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      if (done !== total || last === 0) line();
    },
  };
}
