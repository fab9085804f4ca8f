'use strict';
// Prints what `new NativeBinding({ backend: 'nrfjprog' })` loads with this process's environment
// (TFM_PROVISION_NRFJPROG_LIBRARY cannot be set for native code from inside Jest).
require('./register-ts');
const { NativeBinding } = require('../../../lib/probe/native.ts');

(async () => {
  try {
    const binding = new NativeBinding({ backend: 'nrfjprog' });
    console.log(JSON.stringify({ info: await binding.libraryInfo(), probes: await binding.list() }));
  } catch (error) {
    console.log(JSON.stringify({ code: error.code, message: error.message }));
  }
})();
