// Decodes parquet row groups for src/io/parquet.ts on a worker thread, so a damaged page that sends hyparquet into a
// long synchronous loop can be stopped (the worker is terminated) instead of freezing the command. Plain JavaScript:
// it needs no TypeScript loader, so it starts in milliseconds.
import { parentPort } from 'node:worker_threads';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';

let opened;
// one request at a time, in order: the main thread matches replies by id
let queue = Promise.resolve();
parentPort.on('message', (m) => {
  queue = queue.then(() => decode(m));
});

async function decode({ id, file, rowStart, rowEnd }) {
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
    parentPort.postMessage({ id, ok: true, rows });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
}
