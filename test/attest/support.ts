/**
 * Test support for attestation tokens: a COSE_Sign1 signer for variants of a claim set, an
 * uncompressed public key from a key object, and where the upstream test vectors (RFC 9783 appendix,
 * tf-m-tools iat-verifier/tests/data) are when they are present (docs/attestation.md).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type KeyObject, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

export function cbor(value: unknown): Buffer {
  return encoder.encode(value);
}

export interface SignOptions {
  tagged?: boolean;
  /** The protected header map; default {1: -7} (ES256). */
  protectedHeader?: Map<number, unknown>;
  /** Raw protected bytes, overriding protectedHeader. */
  protectedBytes?: Buffer;
}

/** COSE_Sign1 over a claims map, ES256 with the given private key (RFC 9052 section 4.4). */
export function signClaims(claims: Map<unknown, unknown>, privateKey: KeyObject, options: SignOptions = {}): Buffer {
  const protectedBytes = options.protectedBytes ?? cbor(options.protectedHeader ?? new Map([[1, -7]]));
  const payload = cbor(claims);
  const toBeSigned = cbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const signature = cryptoSign('sha256', toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const body = [protectedBytes, new Map(), payload, signature];
  return cbor(options.tagged === false ? body : new Tag(body, 18));
}

export function uncompressedOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return Uint8Array.from(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
}

export function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

/** A claims set shaped like TF-M's RFC 9783 token (attest_core.c claim list, RFC 9783 keys). */
export function rfc9783Claims(over: { instanceId: Buffer; nonce?: Buffer; implementationId?: Buffer; lifecycle?: number; bootSeed?: Buffer | null }): Map<number, unknown> {
  const claims = new Map<number, unknown>([
    [10, over.nonce ?? bytes(32, 0xaa)],
    [256, over.instanceId],
    [265, 'tag:psacertified.org,2023:psa#tfm'],
    [2394, -1],
    [2395, over.lifecycle ?? 0x3000],
    [2396, over.implementationId ?? bytes(32, 0x11)],
    [
      2399,
      [
        new Map<number, unknown>([
          [1, 'SPE'],
          [2, bytes(32, 0x22)],
          [4, '2.2.0'],
          [5, bytes(32, 0x33)],
        ]),
      ],
    ],
  ]);
  if (over.bootSeed !== null) claims.set(268, over.bootSeed ?? bytes(32, 0x44));
  return claims;
}

/**
 * The upstream vectors this project tests against but does not commit (fetched material may live only
 * in the steering repository's shared/ directory): docs/attestation.md, "Upstream test vectors", says
 * where they come from and how to put them in place. Each file with its SHA-256 as taken from its
 * origin, so a changed or wrong copy fails instead of being tested silently.
 */
export const UPSTREAM_FILES: ReadonlyArray<readonly [string, string]> = [
  // TrustedFirmware-M/tf-m-tools 08c16e9420533af6204157dc3593a341ff078c1b, iat-verifier/tests/data/
  ['tf-m-tools/license.rst', 'e6bdaca3f1708bf7bfeb06d1ace952bcfe6eb32a197a0fe9d744855f453a25cd'],
  ['tf-m-tools/key.pem', '78aec2d78593e26e0712967c4ab68946eda4c508b6f80f139f25bfccfe5a79df'],
  ['tf-m-tools/key-alt.pem', 'fb93507b77347066d1c5a6f0122da2bbb34ff7364213bdeae32b7517e0da9e3f'],
  ['tf-m-tools/hmac.key', '323660ccbbd2afa969708c215c413fd1c7cb57f1e6d8d9f76dea032bb7cf1087'],
  ['tf-m-tools/iat.cbor', 'b50ae040a208f78bce6c091b3c1bc99dedd171e8fc843e666b12eff2dad408a8'],
  ['tf-m-tools/iat-hmac.cbor', 'd632b83f1812d4e1064dfc254c48efb4077db1f2ca67e801f4978f1838b24a46'],
  ['tf-m-tools/malformed.cbor', '9909ac19b24bbf53cbd8ee68216b2f63500fd290556301255cf99c4e369692a9'],
  ['tf-m-tools/psa-2_0_0_sign1-token.cbor', 'db216881842d220cd5525c73314eeed3f16fc5d3465c37715edfcacbedd8c3a4'],
  ['tf-m-tools/invalid-profile-id.cbor', '8bcffba9aad7d403c1029fb73f79aefa298b3bb9f6474364511325f4bf69a8fc'],
  ['tf-m-tools/missing-claim.cbor', '0395d413faad8b36c773aa67308f130dcb03cdb1e0b432da483dc7eaaa922448'],
  ['tf-m-tools/missing-sw-comps.cbor', '7f3e77b8cca089b6e82482d583abf4e70e2ac992979b3a31fe319acf978a36b1'],
  ['tf-m-tools/no-sw-measurements.cbor', 'e14d92c8f42c69736dbdae0d013d4afa0578d080dae1b26e42cf8728c3cfdc76'],
  ['tf-m-tools/submod-missing-claim.cbor', '0e8413277bccd95e73b8b50e290d018ec024e525aa3dea268cc7c260cacec7eb'],
  ['tf-m-tools/cca_example_platform_token.cbor', '32092756c683cac952cba72d8fc4e174521ffbd9c7619222805074dd2c029a50'],
  ['tf-m-tools/cca_example_platform_token_legacy.cbor', '2196669af2bc75499cad4f7494aa98cb8fb0404d1416133eefd97b56aa98c70e'],
  ['tf-m-tools/cca_example_token.cbor', '810c3ca0942c3063f08a9c5b8d652d70157d4af7facc77aa0409a9f92ae9dfa5'],
  ['tf-m-tools/cca_example_token_legacy.cbor', '51b76c1f5798d4861d1e01468d1afd2b2965f766da516eaa3c403a92873caddc'],
  ['tf-m-tools/cca_platform_token.cbor', 'c08d7666f79db96ef342768053d53a5f8ffb478fb2c5bcff665a95314c5ac5fd'],
  ['tf-m-tools/cca_token.cbor', '6d499f7a6709fd7a628ee1c3b93188e7f8293f29bf32d3afc2d6bcdbe4bb9a49'],
  ['tf-m-tools/valid-iat.yaml', '826ba1dab8ebbe5d1a89169380647039932e71bbd6ce8537475fa8c1ab749dcc'],
  ['tf-m-tools/iat.yaml', '8ddd3385ea58bbd18b883eb63f66668ba2c53254b5191dcaa3f7b88bc67534f8'],
  ['tf-m-tools/missing-signer-id.yaml', '8baed683292281ed87ec9cd340b92f1748d0b82ec0b0b1eba94407edbb0c60c8'],
  ['tf-m-tools/unexpected-claim.yaml', 'ddaa2005116a9515c23e1fae12651be95001995c20b03c6b3a97d5f2bd44201e'],
  ['tf-m-tools/invalid-profile-id.yaml', '7a4a8e4d45e69b68d2045a7e71f15e7f8349098ccbe556cf22b316ce5a89daa6'],
  ['tf-m-tools/missing-claim.yaml', 'eeba35299440dfb46d93e4fc1929c3841544877e69adb98ec8f15a67440665d8'],
  ['tf-m-tools/submod-missing-claim.yaml', 'ed7997ba5ff7f3e33498447286d5089a69cf82b5ae0727ea898b9a7182a42c96'],
  ['tf-m-tools/missing-sw-comps.yaml', '5037ece3ffb17101319d3e47b6c4bd54507d7be5eebe5477142db9444ae50a0c'],
  ['tf-m-tools/invalid-type-length.yaml', '7e5f5897764616ba4b2ecf71f72e8b6ba8961cdb6fc06c3ae53b9fb8c439f952'],
  ['tf-m-tools/invalid-hw-version.yaml', '894b024b3de5a404cae1137fa7a4d866e0662642c8cc1061b5accdfabe0293ac'],
  ['tf-m-tools/psa-2_0_0_token.yaml', 'f039f21ff6a7549a627683ade5c63ac87804023126b445ed1438d68ad6363cc8'],
  // thomas-fossati/draft-psa-token 4142e4b3b3075dde022e713e1fd7730a471d87ae, cddl/example/ (RFC 9783 Appendix A)
  ['rfc9783/psa-sign1.hex', '213f5e078f80655aeaa8e8253bb98a188763cda01a24cce2d49ff5c8ffff1a3e'],
  ['rfc9783/psa-sign1.diag', '8f2e5db330f2c381eb081a9c39f33d3704a2cbb3fc0cc920ea41980d1ca66810'],
  ['rfc9783/sign1-claims.diag', 'd30371fc5bd71b79073e7b39c855740ad199181b731e2168dd7ab8f600294fb6'],
  ['rfc9783/tfm-es-iak.json', 'ea2c2e8c49c6bc298e3c3ceae6435bf6526c836dfbd20ad5e486cfb4016361aa'],
  ['rfc9783/tfm-es-iak.pem', '78aec2d78593e26e0712967c4ab68946eda4c508b6f80f139f25bfccfe5a79df'],
  ['rfc9783/psa-mac0.hex', 'f08026eddee117f5aafc444dc71f867fc2f24f190afc8518117530cd2068d097'],
  ['rfc9783/tfm-hs-iak.json', '31fe09912c19a58ef35b551091efbcb90a305fe6dff4f873dfe4c7044af7c1cc'],
];

/** The environment variable naming the vectors' directory. */
export const VECTORS_ENV = 'TFM_PROVISION_ATTEST_VECTORS';

export type VectorsLocation =
  | { dir: string }
  | { dir?: undefined; /** The directory was named by the environment variable (absence is then a failure). */ explicit: boolean; problem: string };

/**
 * Where the upstream vectors are: the directory $TFM_PROVISION_ATTEST_VECTORS names, else
 * shared/attestation-vectors in the directory above the repository (the steering repository's shared/,
 * beside a checkout). A directory counts only with every file of UPSTREAM_FILES in it.
 */
export function locateUpstreamVectors(env: NodeJS.ProcessEnv = process.env): VectorsLocation {
  const named = env[VECTORS_ENV];
  const explicit = named !== undefined && named !== '';
  const dir = explicit ? resolve(named) : join(resolve(__dirname, '..', '..'), '..', 'shared', 'attestation-vectors');
  const missing = UPSTREAM_FILES.map(([name]) => name).filter((name) => !existsSync(join(dir, name)));
  if (missing.length === 0) return { dir };
  const where = explicit ? `${VECTORS_ENV}=${dir}` : `no ${VECTORS_ENV} and no ../shared/attestation-vectors beside the repository`;
  const problem = missing.length === UPSTREAM_FILES.length ? `${where}: no vectors there` : `${where}: ${missing.length} of ${UPSTREAM_FILES.length} files missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`;
  return { explicit, problem };
}
