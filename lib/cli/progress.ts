/**
 * Progress for people: a task list per device (preflight, lifecycle, HUKs, ...) with the time each
 * step took. Two layouts over the same model:
 *  - `tasks`: one device, one line per step (the provision and recover commands);
 *  - `table`: one line per device with its current step (the station).
 *
 * When the output is a terminal the view is redrawn in place (at most every `frameMs`); otherwise
 * each finished step and device is printed once as a plain line, which is what a log file or CI
 * wants. Never used with --json: JSON Lines go to stdout and nothing else does.
 */

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
export type RowStatus = 'waiting' | 'running' | 'passed' | 'already' | 'refused' | 'failed' | 'interrupted' | 'skipped';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

interface StepState {
  name: string;
  status: StepStatus;
  startedAt?: number;
  durationMs?: number;
  note?: string;
}

interface RowState {
  key: string;
  label: string;
  status: RowStatus;
  steps: StepState[];
  startedAt?: number;
  durationMs?: number;
  note?: string;
  /** Extra columns for the table layout (device ID, chip). */
  columns: Record<string, string>;
}

export interface ProgressOptions {
  layout: 'tasks' | 'table';
  /** Redraw in place; default: the stream is a terminal. */
  live?: boolean;
  /** Minimum time between two live frames. */
  frameMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
  /** Title printed above the view. */
  title?: string;
  /** Plain mode: also print a line per finished step (default true; a station prints devices only). */
  plainSteps?: boolean;
}

const SPINNER = ['|', '/', '-', '\\'];
const STEP_MARK: Record<StepStatus, string> = { pending: ' ', running: '>', done: '+', failed: 'x', skipped: '-' };
const ROW_WORD: Record<RowStatus, string> = {
  waiting: 'waiting',
  running: 'running',
  passed: 'PASS',
  already: 'ALREADY',
  refused: 'REFUSED',
  failed: 'FAIL',
  interrupted: 'STOPPED',
  skipped: 'skipped',
};

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export class ProgressRenderer {
  private readonly out: ProgressStream;
  private readonly layout: 'tasks' | 'table';
  readonly live: boolean;
  private readonly frameMs: number;
  private readonly now: () => number;
  private readonly title?: string;
  private readonly plainSteps: boolean;
  private readonly rows = new Map<string, RowState>();
  private linesOnScreen = 0;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private stopped = false;
  private titlePrinted = false;

  constructor(out: ProgressStream, options: ProgressOptions) {
    this.out = out;
    this.layout = options.layout;
    this.live = options.live ?? out.isTTY === true;
    this.frameMs = options.frameMs ?? 100;
    this.now = options.now ?? Date.now;
    this.title = options.title;
    this.plainSteps = options.plainSteps ?? true;
  }

  /** Adds a device (or reuses its row, e.g. the next device on the same probe in watch mode). */
  addRow(key: string, label: string, columns: Record<string, string> = {}): void {
    this.rows.set(key, { key, label, status: 'waiting', steps: [], columns: { ...columns } });
    this.changed();
  }

  setColumns(key: string, columns: Record<string, string>): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    Object.assign(row.columns, columns);
    this.changed();
  }

  /** Declares the steps ahead of time so the task list shows what is coming. */
  plan(key: string, steps: string[]): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    for (const name of steps) if (!row.steps.some((s) => s.name === name)) row.steps.push({ name, status: 'pending' });
    this.changed();
  }

  stepBegin(key: string, name: string): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    if (row.status === 'waiting') {
      row.status = 'running';
      row.startedAt = this.now();
    }
    let step = row.steps.find((s) => s.name === name);
    if (step === undefined) {
      step = { name, status: 'pending' };
      row.steps.push(step);
    }
    step.status = 'running';
    step.startedAt = this.now();
    this.changed();
  }

  stepEnd(key: string, name: string, outcome: { ok: boolean; skipped?: boolean; durationMs?: number; note?: string }): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    let step = row.steps.find((s) => s.name === name);
    if (step === undefined) {
      step = { name, status: 'pending' };
      row.steps.push(step);
    }
    step.status = outcome.skipped === true ? 'skipped' : outcome.ok ? 'done' : 'failed';
    step.durationMs = outcome.durationMs ?? (step.startedAt !== undefined ? this.now() - step.startedAt : undefined);
    step.note = outcome.note;
    if (!this.live && this.plainSteps) this.printLine(this.plainStepLine(row, step));
    this.changed();
  }

  /** Marks the device row as started (before any step, e.g. while connecting). */
  rowRunning(key: string, note?: string): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    if (row.status !== 'running') {
      row.status = 'running';
      row.startedAt = this.now();
    }
    row.note = note;
    this.changed();
  }

  rowDone(key: string, status: RowStatus, note?: string): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    row.status = status;
    row.note = note;
    if (row.startedAt !== undefined) row.durationMs = this.now() - row.startedAt;
    for (const step of row.steps) if (step.status === 'running') step.status = status === 'passed' || status === 'already' ? 'done' : 'failed';
    if (!this.live) this.printLine(this.plainRowLine(row));
    this.changed();
  }

  /** Prints a message above the live view (or as a plain line). */
  log(line: string): void {
    if (this.live && !this.stopped) {
      this.clear();
      this.out.write(`${line}\n`);
      this.render();
    } else {
      this.printLine(line);
    }
  }

  /** Draws the final frame and stops redrawing. */
  stop(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live) {
      this.clear();
      this.render();
    }
    this.stopped = true;
  }

  /** The current view as text lines (what a live frame shows). */
  lines(): string[] {
    const lines: string[] = [];
    if (this.title !== undefined) lines.push(this.title);
    if (this.layout === 'tasks') {
      for (const row of this.rows.values()) {
        lines.push(`${row.label}${row.status === 'waiting' || row.status === 'running' ? '' : `  ${ROW_WORD[row.status]}`}${row.note ? `  ${row.note}` : ''}`);
        const width = Math.max(12, ...row.steps.map((s) => s.name.length));
        for (const step of row.steps) {
          const mark = step.status === 'running' ? SPINNER[this.frame % SPINNER.length] : STEP_MARK[step.status];
          const time = step.status === 'running' && step.startedAt !== undefined ? formatDuration(this.now() - step.startedAt) : step.durationMs !== undefined ? formatDuration(step.durationMs) : '';
          lines.push(`  [${mark}] ${step.name.padEnd(width)}  ${time}${step.note ? `  ${step.note}` : ''}`.trimEnd());
        }
      }
      return lines;
    }
    const extraKeys = [...new Set([...this.rows.values()].flatMap((r) => Object.keys(r.columns)))];
    const header = ['probe', ...extraKeys, 'step', 'time', 'status'];
    const table: string[][] = [header];
    for (const row of this.rows.values()) {
      const current = [...row.steps].reverse().find((s) => s.status === 'running') ?? [...row.steps].reverse().find((s) => s.status !== 'pending');
      const elapsed = row.durationMs ?? (row.startedAt !== undefined ? this.now() - row.startedAt : undefined);
      const status = row.status === 'running' ? `${SPINNER[this.frame % SPINNER.length]} running` : ROW_WORD[row.status];
      table.push([
        row.label,
        ...extraKeys.map((k) => row.columns[k] ?? ''),
        current?.name ?? '',
        elapsed !== undefined ? formatDuration(elapsed) : '',
        `${status}${row.note ? `  ${row.note}` : ''}`,
      ]);
    }
    const widths = header.map((_, i) => Math.max(...table.map((cells) => (i < cells.length - 1 ? (cells[i] ?? '').length : 0))));
    for (const cells of table) lines.push(cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join('  ').trimEnd());
    return lines;
  }

  private changed(): void {
    if (!this.live || this.stopped) return;
    if (this.timer !== undefined) return;
    // Coalesce bursts of events into one frame; unref so a pending frame never keeps the process up.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.frame++;
      this.clear();
      this.render();
      if (this.hasRunning()) this.changed();
    }, this.frameMs);
    this.timer.unref();
  }

  private hasRunning(): boolean {
    for (const row of this.rows.values()) if (row.status === 'running') return true;
    return false;
  }

  private clear(): void {
    if (this.linesOnScreen > 0) this.out.write(`\x1b[${this.linesOnScreen}A\x1b[0J`);
    this.linesOnScreen = 0;
  }

  private render(): void {
    const width = this.out.columns !== undefined && this.out.columns > 10 ? this.out.columns - 1 : 200;
    // Lines are cut to the terminal width: a wrapped line would break the cursor-up arithmetic.
    const lines = this.lines().map((l) => (l.length > width ? l.slice(0, width) : l));
    this.out.write(lines.map((l) => `${l}\x1b[K\n`).join(''));
    this.linesOnScreen = lines.length;
  }

  private printLine(line: string): void {
    if (!this.titlePrinted && this.title !== undefined) {
      this.titlePrinted = true;
      this.out.write(`${this.title}\n`);
    }
    this.out.write(`${line}\n`);
  }

  private plainStepLine(row: RowState, step: StepState): string {
    const word = step.status === 'done' ? 'ok' : step.status === 'skipped' ? 'skipped' : 'FAILED';
    const time = step.durationMs !== undefined ? ` (${formatDuration(step.durationMs)})` : '';
    return `${row.label}: ${step.name} ${word}${time}${step.note ? ` - ${step.note}` : ''}`;
  }

  private plainRowLine(row: RowState): string {
    const extra = Object.values(row.columns).filter((v) => v !== '');
    const time = row.durationMs !== undefined ? ` in ${formatDuration(row.durationMs)}` : '';
    return `${row.label}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}: ${ROW_WORD[row.status]}${time}${row.note ? ` - ${row.note}` : ''}`;
  }
}
