export { createServeApp, DEFAULT_MAX_BODY_BYTES, type ServeAppOptions, scrubPaths } from './app.ts';
export { MediaInputError, MediaStore } from './media.ts';
export { ChatCompletionRequest } from './request.ts';
export { type RunningServer, type StartServerOptions, startServer } from './server.ts';
