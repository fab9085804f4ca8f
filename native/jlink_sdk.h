// The part of SEGGER's J-Link SDK (libjlinkarm) this addon calls, declared from SEGGER's
// documented API as square/pylink mirrors it (no SEGGER header is used), the symbol binding, and
// the table of J-Link's global error codes. Nothing here talks to a probe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform.h"

namespace tfm {
namespace jlink {

extern "C" {
typedef void LogCallback(const char* message);
// JLINK_SetHookUnsecureDialog's hook (pylink enums.JLinkFunctions.UNSECURE_HOOK_PROTOTYPE):
// int hook(const char* title, const char* message, U32 flags); returns the button chosen.
typedef int UnsecureDialogHook(const char* title, const char* message, uint32_t flags);
}

// JLINKARM_EMU_CONNECT_INFO, natural alignment (as square/pylink's ctypes mirror).
struct EmuConnectInfo {
  uint32_t SerialNumber;
  uint8_t Connection;
  uint32_t USBAddr;
  uint8_t aIPAddr[16];
  int Time;
  uint64_t Time_us;
  uint32_t HWVersion;
  uint8_t abMACAddr[6];
  char acProduct[32];
  char acNickname[32];
  char acFWString[112];
  char IsDHCPAssignedIP;
  char IsDHCPAssignedIPIsValid;
  char NumIPConnections;
  char NumIPConnectionsIsValid;
  uint8_t aPadding[34];
};
static_assert(sizeof(EmuConnectInfo) == 264, "JLINKARM_EMU_CONNECT_INFO layout");

struct Api {
  uint32_t (*GetDLLVersion)() = nullptr;
  int (*EMU_GetList)(int hostInterfaces, EmuConnectInfo* infos, int maxInfos) = nullptr;
  int (*EMU_SelectByUSBSN)(uint32_t serialNumber) = nullptr;
  const char* (*OpenEx)(LogCallback* log, LogCallback* errorOut) = nullptr;
  void (*Close)() = nullptr;
  int (*ExecCommand)(const char* command, char* errorOut, int errorOutSize) = nullptr;
  int (*TIF_Select)(int interface) = nullptr;
  void (*SetSpeed)(uint32_t khz) = nullptr;
  int (*Connect)() = nullptr;
  int (*ReadMemEx)(uint32_t address, uint32_t numBytes, void* data, uint32_t accessWidth) = nullptr;
  int (*WriteMemEx)(uint32_t address, uint32_t numBytes, const void* data, uint32_t accessWidth) = nullptr;
  int (*WriteU32)(uint32_t address, uint32_t value) = nullptr;
  int (*CORESIGHT_Configure)(const char* config) = nullptr;
  int (*CORESIGHT_ReadAPDPReg)(uint8_t regIndex, uint8_t apNotDp, uint32_t* data) = nullptr;
  int (*CORESIGHT_WriteAPDPReg)(uint8_t regIndex, uint8_t apNotDp, uint32_t data) = nullptr;
  char (*Halt)() = nullptr;
  void (*Go)() = nullptr;
  int (*Reset)() = nullptr;
  int (*SetResetType)(int type) = nullptr;
  int (*SetHookUnsecureDialog)(UnsecureDialogHook* hook) = nullptr;  // V4.98b+ (pylink jlink.py open())
};

// Fills `api` from `handle`; returns the names of the required symbols the library lacks.
std::vector<std::string> BindApi(platform::LibraryHandle handle, Api* api);

constexpr const char* kFakeMarkerSymbol = "tfm_provision_fake_vendor_library";

constexpr int kHostUsb = 1;
constexpr int kTifSwd = 1;  // JLINKARM_TIF_Select: JTAG = 0, SWD = 1 (pylink enums.JLinkInterfaces)
constexpr int kResetTypeNormal = 0;
constexpr int kResetTypeResetPin = 2;
constexpr uint32_t kAccessWidth32 = 4;
constexpr uint32_t kDefaultSpeedKhz = 4000;
// pylink enums.JLinkFlags.DLG_BUTTON_YES / DLG_BUTTON_NO.
constexpr int kDialogButtonYes = 1 << 0;
constexpr int kDialogButtonNo = 1 << 1;

// The oldest J-Link library accepted: V6.42, the minimum Nordic's nrfjprog requires of the J-Link
// library it drives nRF5340 / nRF91 with (MIN_JLINK_MAJOR_VERSION 6, MIN_JLINK_MINOR_VERSION 42 in
// nrfjprogdll.h / DllCommonDefinitions.h of nrfjprog 10.x). Older ones also predate the dialog
// and hook API used here (pylink: 4.98b and 5.02).
constexpr uint32_t kMinimumVersion = 64200;  // JLINKARM_GetDLLVersion encoding of V6.42

// "V7.94e" from JLINKARM_GetDLLVersion's 79405 (major * 10000 + minor * 100 + revision), as pylink.
std::string FormatVersion(uint32_t raw);

// J-Link global error codes (JLINKARM_ERR_*, as listed by square/pylink's enums) -> stable codes.
struct ErrorInfo {
  int code;
  const char* stableCode;
  const char* text;
};
// nullptr for -1 and every code the table does not know.
const ErrorInfo* FindError(int code);

}  // namespace jlink
}  // namespace tfm
