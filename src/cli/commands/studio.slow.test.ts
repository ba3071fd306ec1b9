import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';
import { validateRecord } from '../../schema/index.ts';
import { openDb } from '../../studio/server/db.ts';
import { getSettings } from '../../studio/server/settings.ts';
import { userByToken } from '../../studio/server/users.ts';
import { nextTask, submit } from '../../studio/server/work.ts';
import { writeSampleSet } from '../../studio/testkit.ts';

const tmp = tempDir('studio-cli-');
afterAll(() => tmp.cleanup());

describe('mmalign studio', () => {
  it('imports, adds accounts, configures and exports valid Preference records', () => {
    const proj = path.join(tmp.dir, 'proj');
    const file = writeSampleSet(path.join(tmp.dir, 'data'), 3, 1);
    expect(runCli(['studio', 'import', file]).stderr).toMatch(/no project folder given[\s\S]*--project DIR/);
    const imp = runCli(['studio', '--project', proj, 'import', file, '--type', 'binary']);
    expect(imp.stdout).toMatch(
      /imported 3 task\(s\) \(0 already present\), 0 AI-judge suggestion\(s\), 3 media file\(s\)/,
    );
    const token = runCli(['studio', '--project', proj, 'users', 'add', 'alice']).stdout.trim();
    expect(token).toMatch(/^ann_/);
    const cfg = runCli([
      'studio',
      '--project',
      proj,
      'config',
      '--overlap',
      '1',
      '--show-suggestions',
      '--name',
      'cli',
    ]);
    expect(JSON.parse(cfg.stdout)).toMatchObject({ overlap: 1, showAiSuggestions: true, name: 'cli' });

    const db = openDb(proj);
    const alice = userByToken(db, token)!;
    for (let k = 0; k < 3; k++) {
      const id = nextTask(db, alice, getSettings(db))!;
      submit(db, alice, id, { submissionId: `cli-${k}-xxxxxx`, label: { label: k !== 1 } }, getSettings(db));
    }
    db.close();
    // Next to the data, so the records' media paths resolve for the trainer hand-off below.
    const out = path.join(tmp.dir, 'data', 'prefs.jsonl');
    const ex = runCli(['studio', '--project', proj, 'export', '--mode', 'all', '-o', out]);
    expect(ex.stderr).toMatch(/exported 3 record\(s\) from 3 labelled task\(s\)/);
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.label)).toEqual([true, false, true]);
    for (const r of records) {
      expect(validateRecord('preference', r)).toEqual([]);
      expect(r.provenance).toMatchObject({ source: 'mmalign-studio:cli', annotator: { kind: 'human', id: 'alice' } });
    }
    // The labels feed a trainer: `mmalign export` turns them into TRL KTO rows, none dropped.
    const trl = runCli([
      'export',
      out,
      path.join(tmp.dir, 'trl'),
      '--engine',
      'trl',
      '--objective',
      'kto',
      '--model',
      'Qwen/Qwen2-VL-2B-Instruct',
    ]);
    expect(trl.stdout + trl.stderr).toMatch(/kept 3, fixed 0, dropped 0/);
  }, 60_000);
});
