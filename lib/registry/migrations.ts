/**
 * The registry's schema, as numbered migrations (`tfm-provision registry migrate`). Each runs once,
 * in its own transaction, and is recorded in tfm_registry.schema_migrations; `migrate` holds an
 * advisory lock, so two stations migrating at once apply each version once. A migration is never
 * edited after it has shipped: a change is a new version.
 *
 * Roles (cluster-wide, created when missing; the migrating user needs CREATEROLE):
 *  - tfm_registry_station: reads lots, devices and attempts; inserts attempts; reserves, begins,
 *    releases and completes through SECURITY DEFINER functions owned by the schema owner. It has no
 *    UPDATE or DELETE on any table, so it cannot rewrite a device or an attempt (SQLSTATE 42501).
 *  - tfm_registry_admin: everything the station role may, plus lots (create, change quota), reap
 *    and import.
 * Login users are made members: `GRANT tfm_registry_station TO line1;` (docs/registry.md).
 *
 * Quota: lots.used counts devices provisioned or partial (written), lots.reserved those reserved.
 * A reservation is the one conditional UPDATE `reserved = reserved + 1 WHERE used + reserved <
 * quota` in the same transaction as the device row: concurrent stations cannot spend a unit twice.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const REGISTRY_SCHEMA = 'tfm_registry';
export const STATION_ROLE = 'tfm_registry_station';
export const ADMIN_ROLE = 'tfm_registry_admin';

const DEFINER = `LANGUAGE plpgsql SECURITY DEFINER SET search_path = tfm_registry, pg_temp`;

const V1 = `
DO $roles$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${STATION_ROLE}') THEN CREATE ROLE ${STATION_ROLE} NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ADMIN_ROLE}') THEN CREATE ROLE ${ADMIN_ROLE} NOLOGIN; END IF;
END $roles$;

CREATE TABLE tfm_registry.lots (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  chip text NOT NULL,
  quota integer NOT NULL CHECK (quota >= 0),
  used integer NOT NULL DEFAULT 0 CHECK (used >= 0),
  reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  implementation_id text,
  instance_id_formula text CHECK (instance_id_formula IN ('2.1', '2.2')),
  created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tfm_registry.stations (
  station_id text PRIMARY KEY,
  host text,
  tool_version text,
  signing_public_key text,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tfm_registry.devices (
  chip text NOT NULL,
  device_id text NOT NULL,
  lot text NOT NULL REFERENCES tfm_registry.lots (name),
  state text NOT NULL CHECK (state IN ('reserved', 'provisioned', 'failed', 'partial')),
  identity_public_key text UNIQUE,
  instance_id text,
  instance_id_formula text,
  implementation_id text,
  station text,
  probe_serial bigint,
  attempt text NOT NULL,
  -- The database role that holds the reservation: only it (or an admin) may begin, release or complete it.
  db_role text NOT NULL DEFAULT session_user,
  written boolean NOT NULL DEFAULT false,
  reserved_at timestamptz NOT NULL DEFAULT now(),
  written_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chip, device_id)
);
CREATE INDEX devices_instance_id ON tfm_registry.devices (instance_id);
CREATE INDEX devices_attempt ON tfm_registry.devices (attempt);
CREATE INDEX devices_lot_state ON tfm_registry.devices (lot, state);

CREATE TABLE tfm_registry.attempts (
  attempt text PRIMARY KEY,
  station text,
  chip text,
  device_id text,
  lot text,
  probe_serial bigint,
  intent jsonb,
  result jsonb,
  outcome text,
  error_code text,
  created timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);

-- Moves one device's unit between the counters: from its old state to its new one.
CREATE FUNCTION tfm_registry.move_unit(p_lot text, p_from text, p_to text) RETURNS void ${DEFINER} AS $$
BEGIN
  UPDATE lots SET
    reserved = reserved - (CASE WHEN p_from = 'reserved' THEN 1 ELSE 0 END) + (CASE WHEN p_to = 'reserved' THEN 1 ELSE 0 END),
    used = used - (CASE WHEN p_from IN ('provisioned', 'partial') THEN 1 ELSE 0 END) + (CASE WHEN p_to IN ('provisioned', 'partial') THEN 1 ELSE 0 END)
  WHERE name = p_lot;
END $$;
REVOKE ALL ON FUNCTION tfm_registry.move_unit(text, text, text) FROM PUBLIC;

-- Whether the calling login role may act on a reservation held by p_holder (its own, or an admin).
CREATE FUNCTION tfm_registry.may_act_for(p_holder text) RETURNS boolean LANGUAGE sql STABLE SET search_path = tfm_registry, pg_temp AS $$
  SELECT p_holder = session_user OR pg_has_role(session_user, '${ADMIN_ROLE}', 'MEMBER')
    OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
$$;

CREATE FUNCTION tfm_registry.touch_station(p_station text, p_host text, p_tool_version text, p_public_key text) RETURNS void ${DEFINER} AS $$
BEGIN
  INSERT INTO stations AS s (station_id, host, tool_version, signing_public_key) VALUES (p_station, p_host, p_tool_version, p_public_key)
  ON CONFLICT (station_id) DO UPDATE SET host = EXCLUDED.host, tool_version = EXCLUDED.tool_version,
    signing_public_key = COALESCE(EXCLUDED.signing_public_key, s.signing_public_key), last_seen = now();
END $$;

CREATE FUNCTION tfm_registry.reserve_device(
  p_lot text, p_attempt text, p_chip text, p_device_id text, p_station text, p_probe_serial bigint,
  p_implementation_id text, p_public_key text, p_instance_id text, p_formula text, p_intent jsonb)
RETURNS TABLE (status text, resumed boolean, quota integer, used integer, reserved integer) ${DEFINER} AS $$
DECLARE
  l lots%ROWTYPE;
  d devices%ROWTYPE;
  was_resumed boolean := false;
BEGIN
  SELECT * INTO l FROM lots WHERE name = p_lot;
  IF NOT FOUND THEN RETURN QUERY SELECT 'LOT_NOT_FOUND'::text, false, 0, 0, 0; RETURN; END IF;
  IF l.chip <> p_chip THEN RETURN QUERY SELECT 'CHIP_MISMATCH'::text, false, l.quota, l.used, l.reserved; RETURN; END IF;
  IF p_public_key IS NOT NULL AND EXISTS (SELECT 1 FROM devices x WHERE x.identity_public_key = p_public_key AND NOT (x.chip = p_chip AND x.device_id = p_device_id)) THEN
    RETURN QUERY SELECT 'PUBLIC_KEY_ALREADY_REGISTERED'::text, false, l.quota, l.used, l.reserved; RETURN;
  END IF;
  SELECT * INTO d FROM devices WHERE chip = p_chip AND device_id = p_device_id FOR UPDATE;
  IF FOUND THEN
    IF d.state = 'provisioned' OR (d.state IN ('reserved', 'partial') AND d.lot <> p_lot) OR (d.state = 'reserved' AND d.station IS DISTINCT FROM p_station) THEN
      RETURN QUERY SELECT 'DEVICE_ALREADY_REGISTERED:' || d.state || ':' || d.lot || ':' || COALESCE(d.station, ''), false, l.quota, l.used, l.reserved; RETURN;
    END IF;
    IF d.state = 'failed' THEN
      UPDATE lots SET reserved = lots.reserved + 1 WHERE name = p_lot AND lots.used + lots.reserved < lots.quota;
      IF NOT FOUND THEN RETURN QUERY SELECT 'QUOTA_EXHAUSTED'::text, false, x.quota, x.used, x.reserved FROM lots x WHERE x.name = p_lot; RETURN; END IF;
    ELSE
      was_resumed := true;
      PERFORM move_unit(p_lot, d.state, 'reserved');
    END IF;
    UPDATE devices SET lot = p_lot, state = 'reserved', attempt = p_attempt, station = p_station, probe_serial = p_probe_serial,
      implementation_id = p_implementation_id, identity_public_key = p_public_key, instance_id = p_instance_id,
      instance_id_formula = p_formula, written = false, reserved_at = now(), written_at = NULL, completed_at = NULL, updated_at = now(),
      db_role = session_user
    WHERE chip = p_chip AND device_id = p_device_id;
  ELSE
    UPDATE lots SET reserved = lots.reserved + 1 WHERE name = p_lot AND lots.used + lots.reserved < lots.quota;
    IF NOT FOUND THEN RETURN QUERY SELECT 'QUOTA_EXHAUSTED'::text, false, x.quota, x.used, x.reserved FROM lots x WHERE x.name = p_lot; RETURN; END IF;
    INSERT INTO devices (chip, device_id, lot, state, identity_public_key, instance_id, instance_id_formula, implementation_id, station, probe_serial, attempt)
    VALUES (p_chip, p_device_id, p_lot, 'reserved', p_public_key, p_instance_id, p_formula, p_implementation_id, p_station, p_probe_serial, p_attempt);
  END IF;
  INSERT INTO attempts (attempt, station, chip, device_id, lot, probe_serial, intent)
  VALUES (p_attempt, p_station, p_chip, p_device_id, p_lot, p_probe_serial, p_intent);
  RETURN QUERY SELECT 'OK'::text, was_resumed, x.quota, x.used, x.reserved FROM lots x WHERE x.name = p_lot;
END $$;

CREATE FUNCTION tfm_registry.begin_write(p_attempt text) RETURNS boolean ${DEFINER} AS $$
BEGIN
  UPDATE devices SET written = true, written_at = now(), updated_at = now() WHERE attempt = p_attempt AND state = 'reserved' AND may_act_for(db_role);
  RETURN FOUND;
END $$;

CREATE FUNCTION tfm_registry.release_reservation(p_attempt text) RETURNS boolean ${DEFINER} AS $$
DECLARE d devices%ROWTYPE;
BEGIN
  SELECT * INTO d FROM devices WHERE attempt = p_attempt AND state = 'reserved' AND NOT written AND may_act_for(db_role) FOR UPDATE;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM move_unit(d.lot, 'reserved', 'failed');
  UPDATE devices SET state = 'failed', updated_at = now() WHERE chip = d.chip AND device_id = d.device_id;
  RETURN true;
END $$;

-- The result of an attempt and its device's new state, together. A replay (the attempt already has
-- a result) changes nothing. An attempt the registry never saw (refused before any reservation, a
-- re-run that found the device complete) is inserted; a complete re-run also finishes a reserved or
-- partial row of its device, whose unit was already counted (it consumes nothing).
CREATE FUNCTION tfm_registry.complete_attempt(
  p_attempt text, p_outcome text, p_verified boolean, p_wrote boolean, p_public_key text, p_instance_id text,
  p_formula text, p_error_code text, p_result jsonb, p_station text, p_chip text, p_device_id text, p_lot text, p_probe_serial bigint)
RETURNS TABLE (state text, applied boolean, lot text) ${DEFINER} AS $$
DECLARE
  a attempts%ROWTYPE;
  d devices%ROWTYPE;
  next_state text;
BEGIN
  SELECT * INTO a FROM attempts WHERE attempt = p_attempt FOR UPDATE;
  IF FOUND AND a.result IS NOT NULL THEN
    SELECT * INTO d FROM devices x WHERE x.chip = a.chip AND x.device_id = a.device_id;
    RETURN QUERY SELECT CASE WHEN d.attempt = p_attempt THEN d.state END, false, d.lot; RETURN;
  END IF;
  next_state := CASE WHEN p_verified AND p_outcome IN ('provisioned', 'alreadyProvisioned') THEN 'provisioned' WHEN p_wrote THEN 'partial' ELSE 'failed' END;
  IF NOT FOUND THEN
    INSERT INTO attempts (attempt, station, chip, device_id, lot, probe_serial, result, outcome, error_code, completed_at)
    VALUES (p_attempt, p_station, p_chip, p_device_id, p_lot, p_probe_serial, p_result, p_outcome, p_error_code, now());
    IF p_outcome = 'alreadyProvisioned' AND p_verified AND p_chip IS NOT NULL AND p_device_id IS NOT NULL THEN
      SELECT * INTO d FROM devices x WHERE x.chip = p_chip AND x.device_id = p_device_id FOR UPDATE;
      IF FOUND AND d.state IN ('reserved', 'partial') AND (p_public_key IS NULL OR d.identity_public_key IS NULL OR d.identity_public_key = p_public_key) THEN
        PERFORM move_unit(d.lot, d.state, 'provisioned');
        UPDATE devices x SET state = 'provisioned', attempt = p_attempt, identity_public_key = COALESCE(p_public_key, x.identity_public_key),
          instance_id = COALESCE(p_instance_id, x.instance_id), instance_id_formula = COALESCE(p_formula, x.instance_id_formula),
          completed_at = now(), updated_at = now()
        WHERE x.chip = p_chip AND x.device_id = p_device_id;
        RETURN QUERY SELECT 'provisioned'::text, true, d.lot; RETURN;
      END IF;
    END IF;
    RETURN QUERY SELECT NULL::text, true, p_lot; RETURN;
  END IF;
  UPDATE attempts SET result = p_result, outcome = p_outcome, error_code = p_error_code, completed_at = now() WHERE attempt = p_attempt;
  SELECT * INTO d FROM devices x WHERE x.chip = a.chip AND x.device_id = a.device_id FOR UPDATE;
  IF NOT FOUND OR d.attempt <> p_attempt THEN RETURN QUERY SELECT NULL::text, true, a.lot; RETURN; END IF;
  IF NOT may_act_for(d.db_role) THEN
    RAISE EXCEPTION 'attempt % is held by another database role', p_attempt USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM move_unit(d.lot, d.state, next_state);
  UPDATE devices x SET state = next_state, identity_public_key = COALESCE(p_public_key, x.identity_public_key),
    instance_id = COALESCE(p_instance_id, x.instance_id), instance_id_formula = COALESCE(p_formula, x.instance_id_formula),
    written = x.written OR p_wrote, completed_at = now(), updated_at = now()
  WHERE x.chip = d.chip AND x.device_id = d.device_id;
  RETURN QUERY SELECT next_state, true, d.lot;
END $$;

-- Reservations older than p_older_than whose station never finished them: released when nothing
-- was written (failed), kept as used when a write had begun (partial); one lot, or all (NULL).
CREATE FUNCTION tfm_registry.reap(p_older_than interval, p_lot text)
RETURNS TABLE (chip text, device_id text, lot text, attempt text, state text) ${DEFINER} AS $$
DECLARE d devices%ROWTYPE; next_state text;
BEGIN
  FOR d IN SELECT * FROM devices x WHERE x.state = 'reserved' AND x.reserved_at < now() - p_older_than AND (p_lot IS NULL OR x.lot = p_lot) ORDER BY x.chip, x.device_id FOR UPDATE LOOP
    next_state := CASE WHEN d.written THEN 'partial' ELSE 'failed' END;
    PERFORM move_unit(d.lot, 'reserved', next_state);
    UPDATE devices x SET state = next_state, updated_at = now() WHERE x.chip = d.chip AND x.device_id = d.device_id;
    RETURN QUERY SELECT d.chip, d.device_id, d.lot, d.attempt, next_state;
  END LOOP;
END $$;

-- A verified device from existing records (registry import): counted as used when the lot has room.
CREATE FUNCTION tfm_registry.import_device(
  p_lot text, p_attempt text, p_chip text, p_device_id text, p_station text, p_probe_serial bigint, p_implementation_id text,
  p_public_key text, p_instance_id text, p_formula text, p_intent jsonb, p_result jsonb)
RETURNS text ${DEFINER} AS $$
DECLARE l lots%ROWTYPE; d devices%ROWTYPE;
BEGIN
  IF EXISTS (SELECT 1 FROM attempts WHERE attempt = p_attempt) THEN RETURN 'ALREADY_IMPORTED'; END IF;
  SELECT * INTO l FROM lots WHERE name = p_lot;
  IF NOT FOUND THEN RETURN 'LOT_NOT_FOUND'; END IF;
  IF l.chip <> p_chip THEN RETURN 'CHIP_MISMATCH'; END IF;
  SELECT * INTO d FROM devices x WHERE x.chip = p_chip AND x.device_id = p_device_id FOR UPDATE;
  IF FOUND AND d.state <> 'failed' THEN RETURN 'DEVICE_ALREADY_REGISTERED'; END IF;
  IF EXISTS (SELECT 1 FROM devices x WHERE x.identity_public_key = p_public_key) THEN RETURN 'PUBLIC_KEY_ALREADY_REGISTERED'; END IF;
  UPDATE lots SET used = lots.used + 1 WHERE name = p_lot AND lots.used + lots.reserved < lots.quota;
  IF NOT FOUND THEN RETURN 'QUOTA_EXHAUSTED'; END IF;
  DELETE FROM devices x WHERE x.chip = p_chip AND x.device_id = p_device_id;
  INSERT INTO devices (chip, device_id, lot, state, identity_public_key, instance_id, instance_id_formula, implementation_id, station, probe_serial, attempt, written, written_at, completed_at)
  VALUES (p_chip, p_device_id, p_lot, 'provisioned', p_public_key, p_instance_id, p_formula, p_implementation_id, p_station, p_probe_serial, p_attempt, true, now(), now());
  INSERT INTO attempts (attempt, station, chip, device_id, lot, probe_serial, intent, result, outcome, completed_at)
  VALUES (p_attempt, p_station, p_chip, p_device_id, p_lot, p_probe_serial, p_intent, p_result, p_result ->> 'outcome', now());
  RETURN 'OK';
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA tfm_registry FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tfm_registry FROM PUBLIC;
GRANT USAGE ON SCHEMA tfm_registry TO ${STATION_ROLE}, ${ADMIN_ROLE};
GRANT SELECT ON tfm_registry.lots, tfm_registry.devices, tfm_registry.attempts, tfm_registry.stations, tfm_registry.schema_migrations TO ${STATION_ROLE}, ${ADMIN_ROLE};
GRANT INSERT ON tfm_registry.attempts TO ${STATION_ROLE}, ${ADMIN_ROLE};
GRANT INSERT, UPDATE ON tfm_registry.lots TO ${ADMIN_ROLE};
GRANT EXECUTE ON FUNCTION tfm_registry.touch_station(text, text, text, text), tfm_registry.reserve_device(text, text, text, text, text, bigint, text, text, text, text, jsonb),
  tfm_registry.begin_write(text), tfm_registry.release_reservation(text),
  tfm_registry.complete_attempt(text, text, boolean, boolean, text, text, text, text, jsonb, text, text, text, text, bigint)
  TO ${STATION_ROLE}, ${ADMIN_ROLE};
GRANT EXECUTE ON FUNCTION tfm_registry.reap(interval, text),
  tfm_registry.import_device(text, text, text, text, text, bigint, text, text, text, text, jsonb, jsonb) TO ${ADMIN_ROLE};
`;

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'lots, devices, attempts, stations; station and admin roles', sql: V1 }];

/** Run before any migration, idempotently, under the advisory lock. */
export const BOOTSTRAP_SQL = `
CREATE SCHEMA IF NOT EXISTS tfm_registry;
CREATE TABLE IF NOT EXISTS tfm_registry.schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;

/** pg_advisory_xact_lock key of `migrate` ("tfmreg" in ASCII). */
export const MIGRATION_LOCK = 0x74666d726567;
