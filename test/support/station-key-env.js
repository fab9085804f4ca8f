// Tests sign their records with a key under test/.tmp, never the user's ~/.config station key.
// XDG_CONFIG_HOME goes under test/.tmp too, so a test that drops TFM_PROVISION_STATION_KEY from a
// child's environment still cannot write into the real ~/.config. HOME is left alone on purpose:
// the package tests run npm, which needs the user's ~/.npmrc and ~/.npm cache (no network in tests).
// A test that checks stderr exactly uses a key of its own (test/support/own-station-key.ts): the
// shared key's first use prints "created the station key ..." in whichever test comes first.
const path = require('node:path');
const tmp = path.join(__dirname, '..', '.tmp');
if (!process.env.TFM_PROVISION_STATION_KEY) {
  process.env.TFM_PROVISION_STATION_KEY = path.join(tmp, 'station-key', 'station-key.pem');
}
if (!process.env.XDG_CONFIG_HOME) process.env.XDG_CONFIG_HOME = path.join(tmp, 'config');
