// nrfjprogdll_err_t (vendor-apis.md 1.3, nrfjprog 10.13 .. 10.24) -> the package's stable codes.
#pragma once

#include <cstdint>
#include <string>

#include "backend.h"

namespace tfm {

struct NrfjprogError {
  int32_t value;
  const char* name;       // the vendor's enum name
  const char* code;       // ErrorCode in lib/errors.ts
  const char* guidance;   // what an operator can do
};

// nullptr for a value the table does not know.
const NrfjprogError* FindNrfjprogError(int32_t value);

// A failing Status for `value` returned by `function`; `context` says what was being done
// (e.g. "reading 4 bytes at 0x00FF8000"), may be empty.
Status NrfjprogStatus(int32_t value, const char* function, const std::string& context);

}  // namespace tfm
