/**
 * Builders and corruptions for the bad-input corpus. The generators write their own Intel HEX and
 * record chains from the format definitions (not through the code under test), so a bug in the
 * product's writer cannot hide the same bug in its reader.
 */
import { createHash } from 'node:crypto';

// ---------------------------------------------------------------- Intel HEX

export interface HexSegment {
  address: number;
  data: Uint8Array;
}

function checksum(bytes: number[]): number {
  const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
  return (0x100 - sum) & 0xff;
}

function hexRecord(type: number, address16: number, data: number[]): string {
  const bytes = [data.length, (address16 >> 8) & 0xff, address16 & 0xff, type, ...data];
  return `:${[...bytes, checksum(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase()}`;
}

/**
 * Well-formed Intel HEX (record types 00, 04, 01), 16 data bytes per record. Segments are written
 * in the given order and are not merged, so overlapping segments give overlapping records.
 */
export function intelHex(segments: HexSegment[], bytesPerRecord = 16): string {
  const lines: string[] = [];
  let upper = -1;
  for (const { address, data } of segments) {
    for (let offset = 0; offset < data.length; ) {
      const at = address + offset;
      const hi = Math.floor(at / 0x10000);
      if (hi !== upper) {
        lines.push(hexRecord(0x04, 0, [(hi >> 8) & 0xff, hi & 0xff]));
        upper = hi;
      }
      // A record never crosses a 64 KiB boundary.
      const n = Math.min(bytesPerRecord, data.length - offset, 0x10000 - (at & 0xffff));
      lines.push(hexRecord(0x00, at & 0xffff, Array.from(data.subarray(offset, offset + n))));
      offset += n;
    }
  }
  lines.push(hexRecord(0x01, 0, []));
  return `${lines.join('\n')}\n`;
}

/** Bytes that look like a build of the stock provisioning sample: its log strings, padded. */
export function provisioningImageBytes(size = 1024): Uint8Array {
  const text = [
    'Successfully verified PSA lifecycle state ASSEMBLY!',
    'Successfully switched to PSA lifecycle state PROVISIONING!',
    'Generating random HUK keys (including MKEK)',
    'Writing the identity key to KMU',
    'Success!',
  ].join('\0');
  const out = new Uint8Array(Math.max(size, text.length + 16)).fill(0x00);
  // A vector table-ish start so the image is not all text.
  out.set([0x00, 0x00, 0x00, 0x20, 0x09, 0x01, 0x00, 0x00], 0);
  out.set(Buffer.from(text, 'latin1'), 16);
  return out;
}

export type HexCorruption =
  | { kind: 'bad-checksum'; line: number }
  | { kind: 'truncate'; keepChars: number }
  | { kind: 'drop-eof' }
  | { kind: 'bad-length'; line: number }
  | { kind: 'non-hex'; line: number }
  | { kind: 'unknown-record-type'; line: number }
  | { kind: 'missing-colon'; line: number };

/** Applies one corruption to well-formed Intel HEX text. `line` counts from 0; negative from the end. */
export function corruptHex(text: string, corruption: HexCorruption): string {
  const lines = text.trimEnd().split('\n');
  const pick = (line: number): number => (line < 0 ? lines.length + line : line);
  switch (corruption.kind) {
    case 'bad-checksum': {
      const i = pick(corruption.line);
      const cc = parseInt(lines[i].slice(-2), 16);
      lines[i] = lines[i].slice(0, -2) + ((cc + 1) & 0xff).toString(16).padStart(2, '0').toUpperCase();
      break;
    }
    case 'truncate':
      return text.slice(0, corruption.keepChars);
    case 'drop-eof':
      lines.pop();
      break;
    case 'bad-length': {
      // Claims more data bytes than the line carries (checksum recomputed so only the length is wrong).
      const i = pick(corruption.line);
      const bytes = Buffer.from(lines[i].slice(1, -2), 'hex');
      bytes[0] = (bytes[0] + 4) & 0xff;
      lines[i] = `:${Buffer.concat([bytes, Buffer.from([checksum(Array.from(bytes))])]).toString('hex').toUpperCase()}`;
      break;
    }
    case 'non-hex': {
      const i = pick(corruption.line);
      lines[i] = `${lines[i].slice(0, 11)}ZZ${lines[i].slice(13)}`;
      break;
    }
    case 'unknown-record-type': {
      const i = pick(corruption.line);
      const bytes = Buffer.from(lines[i].slice(1, -2), 'hex');
      bytes[3] = 0x07;
      lines[i] = `:${Buffer.concat([bytes, Buffer.from([checksum(Array.from(bytes))])]).toString('hex').toUpperCase()}`;
      break;
    }
    case 'missing-colon': {
      const i = pick(corruption.line);
      lines[i] = lines[i].slice(1);
      break;
    }
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- record files

/** A minimal valid record line set (intent + result), chained from the format definition. */
export function recordChain(count = 2): string[] {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  for (let i = 0; i < count; i++) {
    const base = {
      v: 1,
      type: i % 2 === 0 ? 'intent' : 'result',
      prev,
      time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      attempt: `attempt-${Math.floor(i / 2)}`,
      tool: { name: 'tfm-provision', version: '0.1.0' },
      probeSerial: 1000 + Math.floor(i / 2),
      backend: 'sim',
      simulated: true,
      chip: 'nrf5340',
      deviceId: '0123456789abcdef',
      strategy: 'host',
      lifecycleBefore: 'ASSEMBLY',
      startedAt: new Date(Date.UTC(2025, 0, 1)).toISOString(),
    };
    const record =
      i % 2 === 0
        ? base
        : { ...base, outcome: 'provisioned', verified: true, lifecycleAfter: 'PROVISIONING', wroteDevice: true, finishedAt: base.time, durationMs: 12 };
    const line = JSON.stringify(record);
    lines.push(line);
    prev = createHash('sha256').update(line).digest('hex');
  }
  return lines;
}

export type RecordCorruption =
  | { kind: 'edit-field'; line: number }
  | { kind: 'delete-line'; line: number }
  | { kind: 'swap-lines'; a: number; b: number }
  | { kind: 'not-json'; line: number }
  | { kind: 'wrong-version'; line: number }
  | { kind: 'missing-prev'; line: number }
  | { kind: 'binary-garbage' };

/** A record file's text after one corruption. Edits keep the line valid JSON, so only the chain can tell. */
export function corruptRecords(lines: string[], corruption: RecordCorruption): string {
  const out = [...lines];
  switch (corruption.kind) {
    case 'edit-field': {
      const record = JSON.parse(out[corruption.line]) as Record<string, unknown>;
      record.deviceId = 'fedcba9876543210';
      out[corruption.line] = JSON.stringify(record);
      break;
    }
    case 'delete-line':
      out.splice(corruption.line, 1);
      break;
    case 'swap-lines':
      [out[corruption.a], out[corruption.b]] = [out[corruption.b], out[corruption.a]];
      break;
    case 'not-json':
      out[corruption.line] = out[corruption.line].slice(0, Math.floor(out[corruption.line].length / 2));
      break;
    case 'wrong-version': {
      const record = JSON.parse(out[corruption.line]) as Record<string, unknown>;
      record.v = 99;
      out[corruption.line] = JSON.stringify(record);
      break;
    }
    case 'missing-prev': {
      const record = JSON.parse(out[corruption.line]) as Record<string, unknown>;
      delete record.prev;
      out[corruption.line] = JSON.stringify(record);
      break;
    }
    case 'binary-garbage':
      return Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff)).toString('latin1');
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- simulator state files

export type JsonCorruption =
  | { kind: 'truncate'; fraction: number }
  | { kind: 'empty' }
  | { kind: 'not-json' }
  | { kind: 'json-null' }
  | { kind: 'json-array' }
  | { kind: 'set'; path: string; value: unknown }
  | { kind: 'delete'; path: string }
  | { kind: 'corrupt-first-string-matching'; pattern: string; replacement: string };

function walkPath(root: Record<string, unknown>, dotted: string): { parent: Record<string, unknown>; key: string } {
  const parts = dotted.split('.');
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  return { parent: node, key: parts[parts.length - 1] };
}

/** Corrupts a JSON document (a simulator state file) generically, without assuming its schema. */
export function corruptJson(text: string, corruption: JsonCorruption): string {
  switch (corruption.kind) {
    case 'truncate':
      return text.slice(0, Math.floor(text.length * corruption.fraction));
    case 'empty':
      return '';
    case 'not-json':
      return `${text.slice(0, 20)}\u0000\u00ff garbage <<<`;
    case 'json-null':
      return 'null\n';
    case 'json-array':
      return '[1, 2, 3]\n';
    case 'set': {
      const doc = JSON.parse(text) as Record<string, unknown>;
      const { parent, key } = walkPath(doc, corruption.path);
      parent[key] = corruption.value;
      return JSON.stringify(doc, null, 2);
    }
    case 'delete': {
      const doc = JSON.parse(text) as Record<string, unknown>;
      const { parent, key } = walkPath(doc, corruption.path);
      delete parent[key];
      return JSON.stringify(doc, null, 2);
    }
    case 'corrupt-first-string-matching': {
      // Replaces the first string value that matches (e.g. a base64/hex memory blob) with junk.
      const re = new RegExp(corruption.pattern);
      const doc = JSON.parse(text) as unknown;
      let done = false;
      const visit = (node: unknown): unknown => {
        if (done) return node;
        if (typeof node === 'string' && re.test(node)) {
          done = true;
          return corruption.replacement;
        }
        if (Array.isArray(node)) return node.map(visit);
        if (node && typeof node === 'object') {
          for (const [k, v] of Object.entries(node)) (node as Record<string, unknown>)[k] = visit(v);
        }
        return node;
      };
      const result = visit(doc);
      if (!done) throw new Error(`corpus generator: no string matching /${corruption.pattern}/ in the state file`);
      return JSON.stringify(result, null, 2);
    }
  }
}
