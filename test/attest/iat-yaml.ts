/**
 * Compiles an iat-verifier YAML claim set (TrustedFirmware-M/tf-m-tools iat-verifier/tests/data) into
 * a claims map, as iat-verifier's compile_token does: names to the keys of
 * iatverifier/psa_iot_profile1_token_claims.py (Profile 1, -75000..) or psa_2_0_0_token_claims.py,
 * values as written (so a wrongly typed value stays wrongly typed), 'sl_secured' and the other
 * lifecycle names to the start of their range (iatverifier/lifecycle_claim.py).
 */
// js-yaml 3 ships no types; safeLoad reads !!binary as a Buffer.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const yaml = require('js-yaml') as { safeLoad(text: string): unknown };

const IOT1: Record<string, number> = {
  profile_id: -75000,
  client_id: -75001,
  security_lifecycle: -75002,
  implementation_id: -75003,
  boot_seed: -75004,
  hardware_version: -75005,
  sw_components: -75006,
  no_measurements: -75007,
  challenge: -75008,
  instance_id: -75009,
  verification_service: -75010,
};

const PSA_2_0_0: Record<string, number> = {
  challenge: 10,
  instance_id: 256,
  profile_id: 265,
  client_id: 2394,
  security_lifecycle: 2395,
  implementation_id: 2396,
  boot_seed: 2397,
  hardware_version: 2398,
  sw_components: 2399,
  verification_service: 2400,
};

const SW: Record<string, number> = {
  sw_component_type: 1,
  measurement_value: 2,
  sw_component_version: 4,
  signer_id: 5,
  measurement_description: 6,
};

/** A component key by name, or a number written as the key (unexpected-claim.yaml has `3: 1`). */
function swKey(name: string): number {
  const key = SW[name] ?? (/^-?[0-9]+$/.test(name) ? Number(name) : undefined);
  if (key === undefined) throw new Error(`unknown software component claim ${name}`);
  return key;
}

const LIFECYCLES: Record<string, number> = {
  sl_unknown: 0x0000,
  sl_assembly_and_test: 0x1000,
  sl_psa_rot_provisioning: 0x2000,
  sl_secured: 0x3000,
  sl_non_psa_rot_debug: 0x4000,
  sl_recoverable_psa_rot_debug: 0x5000,
  sl_decommissioned: 0x6000,
};

export function compileIatYaml(text: string, profile: 'psa-iot-1' | 'psa-2.0.0'): Map<number, unknown> {
  const doc = yaml.safeLoad(text) as Record<string, unknown>;
  const keys = profile === 'psa-iot-1' ? IOT1 : PSA_2_0_0;
  const out = new Map<number, unknown>();
  for (const [name, value] of Object.entries(doc)) {
    const key = keys[name];
    if (key === undefined) throw new Error(`unknown claim name ${name}`);
    if (name === 'sw_components') {
      out.set(
        key,
        (value as Record<string, unknown>[]).map((c) => new Map(Object.entries(c).map(([n, v]) => [swKey(n), v]))),
      );
    } else if (name === 'security_lifecycle' && typeof value === 'string' && LIFECYCLES[value] !== undefined) {
      out.set(key, LIFECYCLES[value]);
    } else {
      out.set(key, value);
    }
  }
  return out;
}
