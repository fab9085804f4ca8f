import { ProgressRenderer, formatDuration } from '../../lib/cli/progress';

function sink(isTTY: boolean) {
  let text = '';
  return { stream: { isTTY, columns: 120, write: (s: string) => (text += s) }, text: () => text };
}

describe('progress renderer', () => {
  it('prints one plain line per finished step and device when the output is not a terminal', () => {
    let now = 0;
    const out = sink(false);
    const p = new ProgressRenderer(out.stream, { layout: 'tasks', now: () => now });
    expect(p.live).toBe(false);
    p.addRow('1', 'probe 1');
    p.plan('1', ['preflight', 'lifecycle']);
    p.stepBegin('1', 'preflight');
    now = 12;
    p.stepEnd('1', 'preflight', { ok: true });
    p.stepBegin('1', 'lifecycle');
    now = 40;
    p.stepEnd('1', 'lifecycle', { ok: false, note: 'WRITE_FAILED' });
    p.rowDone('1', 'failed', 'WRITE_FAILED');
    p.stop();
    expect(out.text().split('\n')).toEqual([
      'probe 1: preflight ok (12 ms)',
      'probe 1: lifecycle FAILED (28 ms) - WRITE_FAILED',
      'probe 1: FAIL in 40 ms - WRITE_FAILED',
      '',
    ]);
    expect(out.text()).not.toContain('\x1b[');
  });

  it('redraws in place on a terminal and ends with the final frame', async () => {
    const out = sink(true);
    const p = new ProgressRenderer(out.stream, { layout: 'table', frameMs: 1 });
    expect(p.live).toBe(true);
    p.addRow('a', '1001', { device: 'AAAA' });
    p.addRow('b', '1002', { device: 'BBBB' });
    p.stepBegin('a', 'huks');
    await new Promise((r) => setTimeout(r, 20));
    p.rowDone('a', 'passed');
    p.rowDone('b', 'refused', 'LIFECYCLE_NOT_ASSEMBLY');
    p.stop();
    expect(out.text()).toContain('\x1b[');
    const last = p.lines();
    expect(last[0]).toMatch(/^probe\s+device\s+step\s+time\s+status$/);
    expect(last[1]).toMatch(/^1001\s+AAAA\s+huks\s+.*PASS$/);
    expect(last[2]).toMatch(/^1002\s+BBBB\s+.*REFUSED  LIFECYCLE_NOT_ASSEMBLY$/);
  });

  it('formats durations for people', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(1520)).toBe('1.5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});
