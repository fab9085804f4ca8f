#include "jlink_layout.h"

namespace tfm {
namespace jlink {

// nRF9161/nRF9151 use J-Link's nRF9160_xxAA device, as Zephyr's board files for those kits do:
// the backend programs the NVMC itself, so only the core type behind the device name matters.
const FamilyLayout kFamilies[kFamilyCount] = {
    {"NRF53", "nRF5340", "nRF5340_xxAA_APP",
     {"application", 0, 2, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u, 0x00FF8000u, 0x1000u},
     true,
     {"network", 1, 3, 0x41080000u, 0x01000000u, 0x40000u, 0x800u, 0x01FF8000u, 0x800u},
     0x50005614u},
    {"NRF91", "nRF91", "nRF9160_xxAA",
     {"application", 0, 4, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u, 0x00FF8000u, 0x1000u},
     false,
     {},
     0},
};

const FamilyLayout* FamilyByName(const std::string& family) {
  for (const FamilyLayout& layout : kFamilies) {
    if (family == layout.family) return &layout;
  }
  return nullptr;
}

}  // namespace jlink
}  // namespace tfm
