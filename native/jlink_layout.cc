#include "jlink_layout.h"

namespace tfm {
namespace jlink {

// nRF9161/nRF9151 use J-Link's nRF9160_xxAA device, as Zephyr's board files for those kits do:
// the backend programs the NVMC itself, so only the core type behind the device name matters.
const FamilyLayout kFamilies[kFamilyCount] = {
    {"NRF53", "nRF5340", "nRF5340_xxAA_APP",
     {"application", 0, 2, LockCheck::AhbApCswDeviceEn, 0, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u, 0x00FF8000u,
      0x1000u, 0x00FF8000u},
     true,
     {"network", 1, 3, LockCheck::AhbApCswDeviceEn, 0, 0x41080000u, 0x01000000u, 0x40000u, 0x800u, 0x01FF8000u, 0x800u,
      0x01FF8000u},
     {0x50005614u, 0x40005614u, 0x50003814u, 0x00FF0130u, 0x00FF0134u, 4u, 300u},
     0x018u,
     false},
    {"NRF91", "nRF91", "nRF9160_xxAA",
     {"application", 0, 4, LockCheck::CtrlApApprotectStatus, 0x00Cu, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u,
      0x00FF8000u, 0x1000u, 0x00FF8000u},
     false,
     {},
     {},
     0,
     true},
};

const ChipLayout kChips[kChipCount] = {
    {0x5340u, "NRF53", 0x50FA50FAu},
    {0x9160u, "NRF91", 0xFFFFFFFFu},
    {0x9161u, "NRF91", 0x50FA50FAu},
    {0x9151u, "NRF91", 0x50FA50FAu},
};

const ChipLayout* ChipByPart(uint32_t part) {
  for (const ChipLayout& chip : kChips) {
    if (chip.part == part) return &chip;
  }
  return nullptr;
}

const FamilyLayout* FamilyByName(const std::string& family) {
  for (const FamilyLayout& layout : kFamilies) {
    if (family == layout.family) return &layout;
  }
  return nullptr;
}

}  // namespace jlink
}  // namespace tfm
