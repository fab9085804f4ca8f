/**
 * Kept only for importers outside device/ that still name this path: the byte helpers live in
 * lib/bytes.ts (one home for hex formatting and word access). Import from there.
 */
export { hex32, toHex, fromHex, wordAt, halfwordAt, isErased, bytesEqual } from '../bytes';
