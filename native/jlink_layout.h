// The part of lib/targets the J-Link backend needs, per family. test/jlink/layout.test.ts checks
// every number here against lib/targets (through the test binary's `layout` dump), so the two
// cannot drift apart.
#pragma once

#include <cstdint>
#include <string>

namespace tfm {
namespace jlink {

// How the backend tells that a core's debug port is locked: what the chip has (lib/targets
// CoreSpec.debugLock). nRF5340: the AHB-AP's CSW.DeviceEn (probe-rs nrf53.rs); nRF91: the CTRL-AP's
// APPROTECTSTATUS (probe-rs nrf91.rs), a register the nRF5340 CTRL-AP does not have.
enum class LockCheck { AhbApCswDeviceEn, CtrlApApprotectStatus };

struct CoreLayout {
  const char* name;
  uint8_t ahbAp;
  uint8_t ctrlAp;
  LockCheck lockCheck;
  uint32_t approtectStatus;  // CTRL-AP register, for LockCheck::CtrlApApprotectStatus
  uint32_t nvmcBase;
  uint32_t flashBase;
  uint32_t flashSize;
  uint32_t pageSize;
  uint32_t uicrBase;
  uint32_t uicrSize;
  uint32_t approtect;  // UICR.APPROTECT of this core
};

// The nRF5340 network core's FORCEOFF release facts (lib/targets network.*).
struct NetworkRelease {
  uint32_t forceOffSecure;
  uint32_t forceOffNonSecure;
  uint32_t resetPeriphPerm;  // SPU PERIPHID[5].PERM
  uint32_t erratumFicrVar1, erratumFicrVar2, erratumWorkaroundOffset;
  uint32_t accessTimeoutMs;
};

struct FamilyLayout {
  const char* family;      // DeviceInfoResult.family
  const char* displayName; // for messages
  const char* jlinkDevice; // J-Link device name for the application core
  CoreLayout application;
  bool hasNetwork;
  CoreLayout network;
  NetworkRelease release;     // zero when there is no network core
  uint32_t eraseProtectStatus;  // CTRL-AP ERASEPROTECT.STATUS; 0: the family has none on every part
  // A CTRL-AP reset after ERASEALL opens the port on some parts of the family (nRF91x1) and does
  // no harm on the others (nRF9160): the chip is not known while it is locked.
  bool resetAfterEraseAll;
};

constexpr int kFamilyCount = 2;
extern const FamilyLayout kFamilies[kFamilyCount];

// Per part (FICR INFO.PART / SIPINFO.PARTNO): the UICR.APPROTECT value that leaves the port open
// after a reset. Hardened parts (nRF5340, nRF91x1) lock at reset unless it holds 0x50FA50FA;
// on nRF9160 the erased value is the open one.
struct ChipLayout {
  uint32_t part;
  const char* family;
  uint32_t approtectUnprotected;
};
constexpr int kChipCount = 4;
extern const ChipLayout kChips[kChipCount];
const ChipLayout* ChipByPart(uint32_t part);

// nullptr for "UNKNOWN", "" and anything else that is not a family of kFamilies.
const FamilyLayout* FamilyByName(const std::string& family);

// Used when the caller does not know the family: J-Link's generic core description reaches AP0
// on both families; the family is then read from FICR (or from the CTRL-AP's place when locked).
constexpr const char* kGenericDevice = "Cortex-M33";

constexpr uint32_t kFicrInfoPart = 0x00FF020Cu;
constexpr uint32_t kFicrSipPartNo = 0x00FF0140u;

// NVMC register offsets from the core's NVMC base, and CONFIG modes.
constexpr uint32_t kNvmcReady = 0x400u;
constexpr uint32_t kNvmcConfig = 0x504u;
constexpr uint32_t kNvmcEraseAll = 0x50Cu;
constexpr uint32_t kNvmcRen = 0, kNvmcWen = 1, kNvmcEen = 2;

// Nordic CTRL-AP registers (nRF5340 PS CTRL-AP map; nRF91 the same for these).
constexpr uint32_t kCtrlApReset = 0x000u;
constexpr uint32_t kCtrlApEraseAll = 0x004u;
constexpr uint32_t kCtrlApEraseAllStatus = 0x008u;
constexpr uint32_t kCtrlApIdr = 0x0FCu;
constexpr uint32_t kNordicCtrlApIdr = 0x12880000u;

// Cortex-M debug registers, for the network core (driven through AP1, J-Link stays on AP0).
constexpr uint32_t kDhcsr = 0xE000EDF0u;
constexpr uint32_t kDhcsrHalt = 0xA05F0003u;  // DBGKEY | C_HALT | C_DEBUGEN
constexpr uint32_t kDhcsrRun = 0xA05F0001u;   // DBGKEY | C_DEBUGEN
constexpr uint32_t kAircr = 0xE000ED0Cu;
constexpr uint32_t kAircrSysResetReq = 0x05FA0004u;

}  // namespace jlink
}  // namespace tfm
