// Entry of the worker threads of test/core/concurrency.test.ts: registers
// tsx so that the worker can load the TypeScript sources, then runs them.
import { register } from 'tsx/esm/api';

register();
await import('./map-worker.ts');
