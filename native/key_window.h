// The address range whose contents are key material: UICR KEYSLOT.KEY[0..127].VALUE[0..3], the
// 128-bit values the KMU pushes to the crypto hardware (MKEK, MEXT and the encrypted identity key
// all live there; lib/targets SECURE_KMU.valueBase and slotCount).
//
// Derived once, here, from the register map (device-facts.md 5.1): UICR base 0x00FF8000 +
// KEYSLOT.KEY offset 0x800 = 0x00FF8800; 128 slots x 16 bytes = 0x800 bytes, so the window ends
// at 0x00FF9000. The nRF91 UICR has the same base and the same KEYSLOT offsets, so one range serves
// every supported chip and the addon needs no chip knowledge to apply it. It is applied whatever
// core is selected: the nRF5340 network core has no KMU, and being cautious there costs nothing.
//
// Vendor libraries trace memory accesses, data included (J-Link's log shows WriteU32 values and
// WriteMemEx/ReadMemEx data, nrfjprog relays its worker's log). While a call touches this window,
// the worker drops the vendor log lines it receives (worker.h, Job::keySlotAccess).
#pragma once

#include <cstdint>

namespace tfm {

constexpr uint32_t kUicrBase = 0x00FF8000u;
constexpr uint32_t kKeySlotValueOffset = 0x800u;  // UICR KEYSLOT.KEY[0].VALUE[0]
constexpr uint32_t kKeySlotCount = 128u;
constexpr uint32_t kKeySlotValueBytes = 16u;
constexpr uint32_t kKeySlotWindowStart = kUicrBase + kKeySlotValueOffset;
constexpr uint32_t kKeySlotWindowEnd = kKeySlotWindowStart + kKeySlotCount * kKeySlotValueBytes;  // exclusive
static_assert(kKeySlotWindowStart == 0x00FF8800u && kKeySlotWindowEnd == 0x00FF9000u, "KEYSLOT.KEY window");

// Whether [address, address + length) overlaps the window. 64-bit so a range that wraps past
// 0xFFFFFFFF is measured correctly; an empty range touches nothing.
constexpr bool TouchesKeySlotWindow(uint32_t address, uint64_t length) {
  return length > 0 && address < kKeySlotWindowEnd && static_cast<uint64_t>(address) + length > kKeySlotWindowStart;
}

}  // namespace tfm
