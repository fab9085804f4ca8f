/**
 * The plan: every write the host strategy will make, in order, with key bytes as placeholders. The
 * executor performs the same device/ operations these plans describe (a test holds them together).
 */
import { hex32 } from '../bytes';
import { planKmuSlotWrite } from '../device/kmu';
import { planLifecycleProvisioning } from '../device/lifecycle';
import { planNetworkCoreLock } from '../device/network-core';
import type { PlannedDeviceWrite } from '../device/types';
import { planImplementationIdWrite } from '../device/uicr';
import type { KmuSlotSpec, Target } from '../targets';
import type { Decision } from './decide';
import type { PlannedWrite, StepName } from './types';

export interface PlanOptions {
  identityKey: 'generate' | 'skip';
  implementationId: Uint8Array;
}

function slotPlaceholder(key: string, slotNumber: number): string {
  return `<${key}[${slotNumber * 16}..${slotNumber * 16 + 15}]>`;
}

function keySlots(target: Target, slots: readonly KmuSlotSpec[], key: string): PlannedDeviceWrite[] {
  return slots.flatMap((slot, i) => planKmuSlotWrite(target, slot, slotPlaceholder(key, i)));
}

export function planSteps(target: Target, decision: Decision, options: PlanOptions): Array<{ step: StepName; writes: PlannedDeviceWrite[] }> {
  if (decision.action !== 'provision') return [];
  const steps: Array<{ step: StepName; writes: PlannedDeviceWrite[] }> = [];
  if (!decision.finishOnly) {
    steps.push(
      { step: 'lifecycle', writes: planLifecycleProvisioning(target) },
      { step: 'mkek', writes: keySlots(target, target.huk.mkek, 'MKEK') },
      { step: 'mext', writes: keySlots(target, target.huk.mext, 'MEXT') },
    );
    if (options.identityKey === 'generate') steps.push({ step: 'identityKey', writes: keySlots(target, target.identityKey.slots, 'IDENTITY_KEY_BLOB') });
  }
  if (decision.writeImplementationId) steps.push({ step: 'implementationId', writes: planImplementationIdWrite(target, options.implementationId) });
  if (target.network && decision.writeNetworkCore) steps.push({ step: 'networkCore', writes: planNetworkCoreLock(target) });
  return steps;
}

export function toPlannedWrites(steps: Array<{ step: StepName; writes: PlannedDeviceWrite[] }>): PlannedWrite[] {
  return steps.flatMap(({ step, writes }) =>
    writes.map((w) => ({
      step,
      core: w.core,
      address: hex32(w.address),
      size: w.size,
      value: typeof w.value === 'number' ? hex32(w.value) : w.value,
      nvmc: w.nvmc,
      purpose: w.purpose,
    })),
  );
}

export function buildPlan(target: Target, decision: Decision, options: PlanOptions): PlannedWrite[] {
  return toPlannedWrites(planSteps(target, decision, options));
}
