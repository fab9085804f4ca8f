/**
 * A station key of a test's own, in the test's directory, made before the CLI runs. A test that
 * checks stderr (empty, or exact lines) must not depend on whether an earlier test already created
 * the shared key under test/.tmp: the first run that creates a key says so on stderr.
 */
import * as path from 'node:path';
import { STATION_KEY_ENV, loadOrCreateStationKey } from '../../lib/records/station-key';

/** Creates `dir`/station-key.pem now and returns the environment that points the CLI at it. */
export function ownStationKeyEnv(dir: string): { [STATION_KEY_ENV]: string } {
  const file = path.join(dir, 'station-key.pem');
  loadOrCreateStationKey(file);
  return { [STATION_KEY_ENV]: file };
}
