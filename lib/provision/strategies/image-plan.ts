/**
 * The image strategy's plan and its one write of its own before the image runs: the page erases and
 * program blocks of each image, the UICR writes the image makes on the chip (the host strategy's
 * plan, marked as made by the image), and the debug words opened so the host keeps access after the
 * reset that starts the image.
 */
import { TfmError } from '../../errors';
import type { ProbeSession } from '../../probe/types';
import { ERASED_WORD, type Target } from '../../targets';
import { hex32 } from '../../bytes';
import { releaseNetworkCore } from '../../device/network-core';
import { DEFAULT_BLOCK_SIZE, planProgramBlocks } from '../../image/flash';
import type { CheckedImages } from '../../image/inputs';
import { imageName, type FirmwareImage } from '../../image/intel-hex';
import type { Decision } from '../decide';
import { buildPlan } from '../plan';
import type { Preflight } from '../preflight';
import type { PlannedWrite, StepName } from '../types';

/** The dry-run plan: page erases and program blocks per image, and the UICR writes the image makes. */
export function planImageStrategy(
  target: Target,
  decision: Decision,
  images: CheckedImages,
  implementationId: Uint8Array,
  blockSize = DEFAULT_BLOCK_SIZE,
  debugWords: DebugWordToOpen[] = [],
): PlannedWrite[] {
  if (decision.action !== 'provision') return [];
  const plan: PlannedWrite[] = [];
  const programEntries = (image: FirmwareImage, step: StepName): void => {
    for (const page of image.pages) {
      plan.push({ step, core: image.core, address: hex32(page), size: image.pageSize, value: 'erase', nvmc: true, purpose: `erase flash page for the ${imageName(image)}` });
    }
    for (const block of planProgramBlocks(image, blockSize)) {
      plan.push({ step, core: image.core, address: hex32(block.address), size: block.data.length, value: `<${image.source}>`, nvmc: true, purpose: `program the ${imageName(image)}` });
    }
  };
  programEntries(images.provisioning, 'programImage');
  for (const word of debugWords) {
    plan.push({ step: 'runImage', core: word.core, address: hex32(word.address), size: 4, value: hex32(target.uicr.approtectUnprotected), nvmc: true, purpose: `${word.name} = open, so the reset that starts the image keeps the debug port open (it was erased)` });
  }
  // What the image writes when it runs: the same UICR writes as the host strategy, made on the chip.
  const byImage = buildPlan(target, { ...decision, writeNetworkCore: false }, { identityKey: 'generate', implementationId });
  for (const write of byImage) {
    plan.push({ ...write, step: 'runImage', value: write.value.startsWith('<') ? '<generated on the chip>' : write.value, purpose: `by the provisioning image: ${write.purpose}` });
  }
  for (const page of images.provisioning.pages) {
    plan.push({ step: 'removeImage', core: 'application', address: hex32(page), size: images.provisioning.pageSize, value: 'erase', nvmc: true, purpose: 'erase the provisioning image' });
  }
  if (target.network && decision.writeNetworkCore) {
    if (images.network) {
      programEntries(images.network, 'networkCore');
      plan.push({ step: 'networkCore', core: 'network', address: hex32(target.network.approtect), size: 4, value: hex32(0), nvmc: true, purpose: 'by the network-core image: UICR.APPROTECT = Protected' });
      for (const page of images.network.pages) {
        plan.push({ step: 'networkCore', core: 'network', address: hex32(page), size: images.network.pageSize, value: 'erase', nvmc: true, purpose: 'erase the network-core image' });
      }
    } else {
      plan.push(...buildPlan(target, { ...decision, writeImplementationId: false }, { identityKey: 'skip', implementationId }).filter((w) => w.step === 'networkCore'));
    }
  }
  if (images.application) programEntries(images.application, 'programApp');
  return plan;
}

/** A UICR protection word the image strategy writes with the open value before its reset. */
export interface DebugWordToOpen {
  core: 'application' | 'network';
  address: number;
  name: string;
}

/**
 * The image strategy resets the chip to start the image; the host must still reach both cores
 * afterwards (to follow, halt, erase and verify). A core's debug port stays open over a reset only
 * if its UICR.APPROTECT (and the application core's SECUREAPPROTECT) holds the open value. After an
 * erase-all (recover) these words are erased, which on nRF5340 and nRF91x1 is not the open value, so
 * they are written with it first, as nrfjprog --recover does (TF-M's first boot later writes 0 over
 * them: the second of the two writes a word allows). A word that holds anything else (Protected)
 * cannot be opened: refused before anything is written.
 */
export function debugWordsToOpen(p: Preflight, decision: Decision): DebugWordToOpen[] {
  const target = p.target;
  const open = target.uicr.approtectUnprotected;
  if (open === ERASED_WORD) return []; // nRF9160: erased is open
  const words: DebugWordToOpen[] = [];
  const check = (core: 'application' | 'network', address: number, name: string, value: number | undefined): void => {
    if (value === undefined || value === open) return;
    if (value === ERASED_WORD) {
      words.push({ core, address, name });
      return;
    }
    throw new TfmError(
      'DEBUG_LOCK_AT_RESET',
      `${name} holds ${hex32(value)}, not the open value ${hex32(open)}: the reset that starts the provisioning image would lock the debug port, ` +
        'and the host could no longer follow, remove or verify the image. Nothing was written to non-volatile memory. Use the host strategy, or recover the device first (an erase-all, which also erases lifecycle and keys).',
      { details: { core, address: hex32(address), value: hex32(value) } },
    );
  };
  check('application', target.uicr.approtect, 'UICR.APPROTECT', p.protection.approtect);
  check('application', target.uicr.secureApprotect, 'UICR.SECUREAPPROTECT', p.protection.secureApprotect);
  if (target.network && decision.writeNetworkCore && p.networkCore?.accessible) {
    check('network', target.network.approtect, "the network core's UICR.APPROTECT", p.networkCore.approtect);
  }
  return words;
}

/** Writes the open value into the words debugWordsToOpen found (the core halted, before the reset). */
export async function openDebugWords(probe: ProbeSession, target: Target, words: DebugWordToOpen[]): Promise<void> {
  for (const word of words) {
    if (word.core === 'network') {
      await releaseNetworkCore(probe, target);
      await probe.selectCore('network');
    }
    try {
      await probe.writeU32(word.address, target.uicr.approtectUnprotected, { nvmc: true });
      const value = await probe.readU32(word.address);
      if (value !== target.uicr.approtectUnprotected) {
        throw new TfmError('VERIFY_FAILED', `${word.name} reads ${hex32(value)} after writing the open value ${hex32(target.uicr.approtectUnprotected)}.`, { afterWrite: true });
      }
    } finally {
      if (word.core === 'network') await probe.selectCore('application');
    }
  }
}

