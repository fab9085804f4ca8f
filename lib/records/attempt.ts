/**
 * The records of one provisioning attempt, for any caller of provision() (the station, the
 * provision command, a user's script):
 *
 *   const attempt = new AttemptRecorder(writer, { probeSerial, backend, simulated });
 *   const result = await provision(session, {
 *     beforeIrreversible: (ctx) => attempt.intent(ctx),     // durable before the first write
 *     onEvent: (e) => attempt.observe(e),
 *   });
 *   await attempt.result(result);
 *
 * Records are built field by field from public facts (IDs, states, the public key); nothing from
 * the provisioning run is spread into them, so key material cannot reach the file.
 */
import { randomUUID } from 'node:crypto';
import { asTfmError } from '../errors';
import type { ProvisionEvent } from '../provision/events';
import type { IrreversibleContext, ProvisionOutcome, ProvisionResultFields } from '../provision/types';
import type { AttemptFacts, IntentInput, ResultInput, ResultRecord } from './format';
import type { RecordWriter } from './writer';

export interface AttemptInfo {
  probeSerial: number;
  backend: string;
  simulated: boolean;
  strategy?: string;
  toolVersion?: string;
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export class AttemptRecorder {
  readonly attempt = randomUUID();
  readonly facts: AttemptFacts;
  private readonly writer: RecordWriter | undefined;
  private readonly startedAtMs = Date.now();
  private intentWritten = false;
  private resultWritten = false;

  /** `writer` undefined: the recorder only collects facts (no record file). */
  constructor(writer: RecordWriter | undefined, info: AttemptInfo) {
    this.writer = writer;
    this.facts = {
      attempt: this.attempt,
      tool: { name: 'tfm-provision', version: info.toolVersion ?? packageVersion() },
      probeSerial: info.probeSerial,
      backend: info.backend,
      simulated: info.simulated,
      strategy: info.strategy ?? 'host',
      startedAt: new Date(this.startedAtMs).toISOString(),
    };
  }

  get hasIntent(): boolean {
    return this.intentWritten;
  }

  /** Picks the device's identity out of the run's events (before any record is written). */
  observe(event: ProvisionEvent): void {
    if (event.type === 'preflight') {
      this.facts.chip = event.chip;
      this.facts.deviceId = event.deviceId;
      this.facts.lifecycleBefore = event.lifecycle;
    }
  }

  /** What the intent record of this attempt says (also what a registry stores as its intent). */
  intentInput(context: IrreversibleContext): IntentInput {
    this.facts.chip = context.chip;
    this.facts.deviceId = context.deviceId;
    this.facts.lifecycleBefore = context.lifecycle;
    this.facts.implementationId = context.implementationId;
    return {
      ...this.facts,
      plannedSteps: [...new Set(context.plan.map((w) => w.step))],
      ...(context.identityPublicKey !== undefined ? { identityPublicKey: context.identityPublicKey.hex } : {}),
      ...(context.instanceId !== undefined ? { instanceId: context.instanceId } : {}),
      ...(context.instanceIdFormula !== undefined ? { instanceIdFormula: context.instanceIdFormula } : {}),
    };
  }

  /** The intent record; resolves once it is fsynced. Use as (or inside) provision()'s beforeIrreversible. */
  async intent(context: IrreversibleContext): Promise<void> {
    const input = this.intentInput(context);
    if (this.writer === undefined) return;
    await this.writer.intent(input);
    this.intentWritten = true;
  }

  /** The result record of a finished run. */
  async result(result: ProvisionResultFields): Promise<ResultRecord | undefined> {
    return this.write(this.resultInput(result));
  }

  /** What the result record of a finished run says (also what a registry stores as its result). */
  resultInput(result: ProvisionResultFields): ResultInput {
    return this.build({
      outcome: result.outcome,
      verified: result.ok && (result.verification?.ok ?? result.outcome !== 'dryRun'),
      chip: result.chip,
      deviceId: result.deviceId,
      lifecycleBefore: result.lifecycleBefore,
      lifecycleAfter: result.lifecycleAfter,
      implementationId: result.implementationId,
      identityPublicKey: result.identityPublicKey?.hex,
      instanceId: result.instanceId,
      instanceIdFormula: result.instanceIdFormula,
      errorCode: result.errorCode,
      error: result.error?.message,
      wroteDevice: result.afterWrite,
    });
  }

  /** The result record of an attempt that ended in an exception (lock, open, or a bug). */
  async failure(error: unknown): Promise<ResultRecord | undefined> {
    return this.write(this.failureInput(error));
  }

  /** What the result record of an attempt that ended in an exception says. */
  failureInput(error: unknown): ResultInput {
    const e = asTfmError(error);
    return this.build({
      outcome: !e.afterWrite && (e.category === 'refused' || e.category === 'usage') ? 'refused' : 'failed',
      verified: false,
      errorCode: e.code,
      error: e.message,
      wroteDevice: e.afterWrite,
    });
  }

  private async write(input: ResultInput): Promise<ResultRecord | undefined> {
    if (this.writer === undefined || this.resultWritten) return undefined;
    this.resultWritten = true;
    return this.writer.result(input);
  }

  private build(fields: {
    outcome: ProvisionOutcome;
    verified: boolean;
    chip?: string;
    deviceId?: string;
    lifecycleBefore?: string;
    lifecycleAfter?: string;
    implementationId?: string;
    identityPublicKey?: string;
    instanceId?: string;
    instanceIdFormula?: '2.1' | '2.2';
    errorCode?: string;
    error?: string;
    wroteDevice: boolean;
  }): ResultInput {
    const f = this.facts;
    const chip = fields.chip ?? f.chip;
    const deviceId = fields.deviceId ?? f.deviceId;
    const lifecycleBefore = fields.lifecycleBefore ?? f.lifecycleBefore;
    const implementationId = fields.implementationId ?? f.implementationId;
    return {
      attempt: f.attempt,
      tool: f.tool,
      probeSerial: f.probeSerial,
      backend: f.backend,
      simulated: f.simulated,
      ...(chip !== undefined ? { chip } : {}),
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(f.strategy !== undefined ? { strategy: f.strategy } : {}),
      ...(lifecycleBefore !== undefined ? { lifecycleBefore } : {}),
      ...(implementationId !== undefined ? { implementationId } : {}),
      startedAt: f.startedAt,
      outcome: fields.outcome,
      verified: fields.verified,
      ...(fields.lifecycleAfter !== undefined ? { lifecycleAfter: fields.lifecycleAfter } : {}),
      ...(fields.identityPublicKey !== undefined ? { identityPublicKey: fields.identityPublicKey } : {}),
      ...(fields.instanceId !== undefined ? { instanceId: fields.instanceId } : {}),
      ...(fields.instanceIdFormula !== undefined ? { instanceIdFormula: fields.instanceIdFormula } : {}),
      ...(fields.errorCode !== undefined ? { errorCode: fields.errorCode } : {}),
      ...(fields.error !== undefined ? { error: fields.error } : {}),
      wroteDevice: fields.wroteDevice,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - this.startedAtMs,
    };
  }
}
