import type { Command } from 'commander';
import type { CliIo } from '../io';
import { register as registerRecords } from './records';
import { register as registerStation } from './station';
import { register as registerList } from './list';
import { register as registerRecover } from './recover';
import { register as registerSim } from './sim';
import { register as registerProvision } from './provision';
import { register as registerVerify } from './verify';
import { register as registerInspect } from './inspect';
import { register as registerAttest } from './attest';
import { register as registerDoctor } from './doctor';
import { register as registerRegistry } from './registry';

/** Each command module registers itself on the program. One line per module. */
type Register = (program: Command, io: CliIo) => void;
const modules: Register[] = [registerRecords, registerStation, registerList, registerRecover, registerSim, registerProvision, registerVerify, registerInspect, registerAttest, registerDoctor, registerRegistry];

export function registerCommands(program: Command, io: CliIo): void {
  for (const register of modules) register(program, io);
}
