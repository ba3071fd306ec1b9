import type { Command } from 'commander';
import { MmalignError } from '../../util/errors.ts';
import { onGracefulStop } from '../interrupt.ts';
import { numberOption } from '../options.ts';

/** `mmalign serve`: any model (the embedded one by default) over the OpenAI-compatible chat-completions API. */
export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve a model over an OpenAI-compatible API (/v1/models, /v1/chat/completions, vLLM-style prompt_logprobs)',
    )
    .requiredOption(
      '--model <spec>',
      'checkpoint folder, embedded:PATH, openai:MODEL@URL, vllm:MODEL@URL or http(s)://.../v1',
    )
    .option('--port <n>', 'TCP port (0 = any free port)', '8000')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: $MMALIGN_SERVE_API_KEY)')
    .option('--name <id>', 'model name reported by /v1/models (default: the model id)')
    .option(
      '--max-body-mb <n>',
      'largest request body accepted, in MB (images travel inline)',
      numberOption('max-body-mb', 0.001),
      20,
    )
    .action(
      async (o: { model: string; port: string; host: string; apiKey?: string; name?: string; maxBodyMb: number }) => {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new MmalignError('MMALIGN_CLI', `--port must be an integer in 0..65535, got "${o.port}"`);
        const { resolveModel } = await import('../../models/registry.ts');
        const { startServer } = await import('../../serve/index.ts');
        const model = await resolveModel(o.model);
        const apiKey = o.apiKey ?? process.env.MMALIGN_SERVE_API_KEY;
        const server = await startServer({
          model,
          port,
          host: o.host,
          apiKey,
          name: o.name,
          maxBodyBytes: Math.round(o.maxBodyMb * 1024 * 1024),
        });
        process.stderr.write(
          `mmalign serve: ${o.name ?? model.id} on ${server.url}${apiKey ? ' (API key required)' : ''}; Ctrl-C to stop\n`,
        );
        // the URL on stdout, alone, so scripts and tests can read it
        process.stdout.write(`${server.url}\n`);
        // the first Ctrl-C / SIGTERM closes the socket and the model; a second one exits at once
        await new Promise<void>((resolve) => {
          const off = onGracefulStop(() => {
            off();
            void server.close().then(async () => {
              await model.close?.();
              resolve();
            });
          }, 'mmalign serve: stopping');
        });
      },
    );
}
