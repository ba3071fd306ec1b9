// Decodes parquet row groups for src/io/parquet.ts on a worker thread, so a damaged page that sends hyparquet into a
// long synchronous loop can be stopped (the worker is terminated) instead of freezing the command. Plain JavaScript:
// it needs no TypeScript loader, so it starts in milliseconds.
import { parentPort } from 'node:worker_threads';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';

let opened;
parentPort.on('message', async ({ file, rowStart, rowEnd }) => {
  try {
    if (opened?.file !== file) {
      const buf = await asyncBufferFromFile(file);
      opened = { file, buf, metadata: await parquetMetadataAsync(buf) };
    }
    const rows = await parquetReadObjects({
      file: opened.buf,
      metadata: opened.metadata,
      rowStart,
      rowEnd,
      utf8: false,
    });
    parentPort.postMessage({ ok: true, rows });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
