/**
 * Ctrl-C (SIGINT) and SIGTERM for the commands that write files. The first
 * signal aborts `interruptSignal()`: the command stops at its next step (a
 * batch, a block of rows), its writers remove their temporaries (they write
 * to a temporary name and rename only when complete, so no partial file ever
 * has the final name), and the process exits with 128 + the signal's number
 * (130, 143) and a one-line message. A second signal exits at once, removing
 * the temporaries synchronously first.
 */
import { constants } from 'node:os';
import { removeOpenTemporariesSync } from '../data/writers.js';

const controller = new AbortController();
let received: 'SIGINT' | 'SIGTERM' | null = null;
let installed = false;

/** The exit code of a process ended by `signal`: 128 + its number. */
function exitCode(signal: 'SIGINT' | 'SIGTERM'): number {
  return 128 + constants.signals[signal];
}

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  if (received) {
    removeOpenTemporariesSync();
    process.stderr.write(`ntk-sketch: interrupted (${signal}); no output written\n`);
    process.exit(exitCode(signal));
  }
  received = signal;
  controller.abort(new Error(`interrupted (${signal})`));
}

/** Installs the handlers (once) and returns the signal that the first SIGINT or SIGTERM aborts. */
export function interruptSignal(): AbortSignal {
  if (!installed) {
    installed = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return controller.signal;
}

/** Throws the AbortError when a SIGINT or SIGTERM has arrived (between steps without a signal option). */
export function checkInterrupted(): void {
  if (received) throw new DOMException(`interrupted (${received})`, 'AbortError');
}

/** The exit code and message of a command stopped by a signal, or null when none arrived. */
export function interruption(): { code: number; message: string } | null {
  if (!received) return null;
  return { code: exitCode(received), message: `interrupted (${received}); no output written` };
}
