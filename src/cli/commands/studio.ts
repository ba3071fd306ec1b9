import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { EXPORT_MODES } from '../../studio/server/export.ts';
import { TASK_TYPE_NAMES as TASK_TYPES, type TaskTypeName } from '../../studio/server/tasks/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { onGracefulStop } from '../interrupt.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}
function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** `--project` is declared on `studio` itself, so every subcommand reads it through optsWithGlobals(). */
function projectDir(cmd: Command): string {
  const dir = cmd.optsWithGlobals<{ project?: string }>().project;
  if (!dir)
    throw new MmalignError('MMALIGN_STUDIO_NO_PROJECT', 'no project folder given', {
      hint: 'pass --project DIR (it is created if missing)',
    });
  return path.resolve(dir);
}

export function register(program: Command): void {
  const studio = program
    .command('studio')
    .description('the annotation studio: a local web app for human preference labels on image-conditioned answers')
    .option('--project <dir>', 'project folder (database + media store); created if missing')
    .option('--port <n>', 'port to listen on (0 = any free port)', port, 4173)
    .option('--host <addr>', 'address to bind (keep 127.0.0.1 unless you put it behind TLS)', '127.0.0.1')
    .action(async (_opts: unknown, cmd: Command) => {
      const dir = projectDir(cmd);
      const o = cmd.opts<{ port: number; host: string }>();
      const { startStudio, createUser, listUsers } = await import('../../studio/index.ts');
      const server = await startStudio({
        dir,
        port: o.port,
        host: o.host,
        onError: (e) => process.stderr.write(`mmalign studio: ${(e as Error).stack ?? String(e)}\n`),
      });
      let login = '';
      if (!listUsers(server.db).some((u) => u.role === 'admin')) {
        const { token } = createUser(server.db, 'admin', 'admin');
        login = `#token=${token}`;
        process.stdout.write(`created admin account "admin" with token ${token} (shown once)\n`);
      }
      if (server.builtUi) process.stdout.write('built the studio UI\n');
      process.stdout.write(`mmalign studio listening on ${server.url}/${login}\n`);
      if (!login)
        process.stdout.write('sign in with an account token (`mmalign studio users token NAME` issues a new one)\n');
      // the first Ctrl-C / SIGTERM closes the server and the database; a second one exits at once
      await new Promise<void>((resolve) => {
        const off = onGracefulStop(() => {
          off();
          resolve();
        }, 'mmalign studio: stopping');
      });
      await server.close();
    });

  studio
    .command('import')
    .description('add annotation tasks from mmalign records (Sample + Response lines, or Preference lines from judges)')
    .argument('<file>', 'JSONL of Sample/Response/Preference records')
    .addOption(new Option('--type <type>', 'task type for Sample + Response records').choices(TASK_TYPES))
    .option('--media-root <dir>', 'folder the records’ media paths are relative to (default: the file’s folder)')
    .action(async (file: string, o: { type?: TaskTypeName; mediaRoot?: string }, cmd: Command) => {
      const dir = projectDir(cmd);
      const { requireInputFile } = await import('../options.ts');
      requireInputFile(file);
      const { openDb, importRecords } = await import('../../studio/index.ts');
      const db = openDb(dir);
      try {
        const r = importRecords(db, dir, path.resolve(file), { type: o.type, mediaRoot: o.mediaRoot });
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(
          `imported ${r.tasks} task(s) (${r.existing} already present), ${r.suggestions} AI-judge suggestion(s), ${r.media} media file(s)\n`,
        );
      } finally {
        db.close();
      }
    });

  studio
    .command('export')
    .description('write the labels as Preference records (JSONL)')
    .addOption(
      new Option('--mode <mode>', 'majority vote per task, or every annotator’s label')
        .choices(EXPORT_MODES)
        .default('majority'),
    )
    .option('-o, --out <file>', 'output file (default: stdout)')
    .action(async (o: { mode: (typeof EXPORT_MODES)[number]; out?: string }, cmd: Command) => {
      const dir = projectDir(cmd);
      const { openDb, exportRecords } = await import('../../studio/index.ts');
      const db = openDb(dir);
      try {
        const r = exportRecords(db, o.mode);
        const text = r.records.map((x) => `${JSON.stringify(x)}\n`).join('');
        if (o.out) writeFileSync(o.out, text);
        else process.stdout.write(text);
        const note = r.unresolved.length
          ? `; ${r.unresolved.length} task(s) need adjudication: ${r.unresolved.join(', ')}`
          : '';
        process.stderr.write(`exported ${r.records.length} record(s) from ${r.tasks} labelled task(s)${note}\n`);
      } finally {
        db.close();
      }
    });

  const users = studio.command('users').description('annotator and admin accounts');
  users
    .command('add')
    .argument('<name>')
    .option('--admin', 'an admin (sees progress, agreement, exports) instead of an annotator')
    .description('create an account and print its token (shown once)')
    .action(async (name: string, o: { admin?: boolean }, cmd: Command) => {
      const { openDb, createUser } = await import('../../studio/index.ts');
      const db = openDb(projectDir(cmd));
      try {
        const { token } = createUser(db, name, o.admin ? 'admin' : 'annotator');
        process.stdout.write(`${token}\n`);
      } finally {
        db.close();
      }
    });
  users
    .command('token')
    .argument('<name>')
    .description('issue a new token for an account (the old one stops working)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { openDb, resetToken } = await import('../../studio/index.ts');
      const db = openDb(projectDir(cmd));
      try {
        process.stdout.write(`${resetToken(db, name)}\n`);
      } finally {
        db.close();
      }
    });
  users
    .command('list')
    .description('list accounts')
    .action(async (_o: unknown, cmd: Command) => {
      const { openDb, listUsers } = await import('../../studio/index.ts');
      const db = openDb(projectDir(cmd));
      try {
        for (const u of listUsers(db)) process.stdout.write(`${u.name}\t${u.role}\n`);
      } finally {
        db.close();
      }
    });

  studio
    .command('config')
    .description('show or change project settings')
    .option('--name <name>', 'project name (goes into exported provenance)')
    .option('--overlap <k>', 'annotators per task', positiveInt)
    .option('--show-suggestions', 'show AI-judge suggestions to annotators')
    .option('--hide-suggestions', 'hide AI-judge suggestions (default: avoids anchoring)')
    .option('--guidelines <file>', 'guidelines text shown on the guidelines page')
    .option('--aspects <list>', 'comma-separated rating aspects')
    .option('--scale <min,max>', 'rating scale, e.g. 1,5')
    .action(async (o: Record<string, string | number | boolean | undefined>, cmd: Command) => {
      const { openDb, putSettings, Settings } = await import('../../studio/index.ts');
      const db = openDb(projectDir(cmd));
      try {
        const patch = Settings.partial().safeParse({
          name: o.name,
          overlap: o.overlap,
          showAiSuggestions: o.showSuggestions ? true : o.hideSuggestions ? false : undefined,
          guidelines: typeof o.guidelines === 'string' ? readFileSync(o.guidelines, 'utf8') : undefined,
          aspects: typeof o.aspects === 'string' ? o.aspects.split(',').map((s) => s.trim()) : undefined,
          scale: typeof o.scale === 'string' ? o.scale.split(',').map(Number) : undefined,
        });
        if (!patch.success)
          throw new MmalignError(
            'MMALIGN_STUDIO_CONFIG',
            patch.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          );
        process.stdout.write(`${JSON.stringify(putSettings(db, patch.data), null, 2)}\n`);
      } finally {
        db.close();
      }
    });
}
