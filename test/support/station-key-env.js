// Tests sign their records with a key under test/.tmp, never the user's ~/.config station key.
const path = require('node:path');
if (!process.env.TFM_PROVISION_STATION_KEY) {
  process.env.TFM_PROVISION_STATION_KEY = path.join(__dirname, '..', '.tmp', 'station-key', 'station-key.pem');
}
