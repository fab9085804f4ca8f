/**
 * TF-M's instance-ID formulas by version. They live in lib/keys/instance-id.ts (the provisioning run
 * reports the ID too); the verifier re-exports them under its own names.
 */
export { coseKeyOf, INSTANCE_ID_FORMULAS, instanceIdUnder, isInstanceIdFormula, type InstanceIdFormula } from '../keys/instance-id';
