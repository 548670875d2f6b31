/** One line describing the machine and native backend, for benchmark reports (the tool's description). */
import { describeMachine, machineLine } from '../../src/bench/machine.js';

export function machineDescription(): string {
  return machineLine(describeMachine());
}
