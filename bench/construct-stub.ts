/**
 * The loopback OpenAI-compatible server of bench/construct.ts, in its own process so the pipeline and the plain
 * load generator measured against it do not share its CPU. Prints its base URL on stdout, then serves until killed.
 */
import { startFixtureServer } from '../src/serve/fixture.ts';

const fx = await startFixtureServer({ port: Number(process.argv[2] ?? 0) });
process.stdout.write(`${fx.url}\n`);
process.on('SIGTERM', () => {
  void fx.close().then(() => process.exit(0));
});
