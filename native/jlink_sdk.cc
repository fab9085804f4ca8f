#include "jlink_sdk.h"

#include <cstdio>

namespace tfm {
namespace jlink {
namespace {

template <typename Fn>
void Bind(platform::LibraryHandle handle, const char* name, Fn* slot, std::vector<std::string>* missing) {
  void* symbol = platform::FindSymbol(handle, name);
  if (symbol == nullptr) {
    missing->push_back(name);
    return;
  }
  *slot = reinterpret_cast<Fn>(symbol);
}

constexpr ErrorInfo kErrors[] = {
    {-256, "PROBE_DISCONNECTED", "no connection to the J-Link"},
    {-257, "PROBE_DISCONNECTED", "communication with the J-Link failed"},
    {-258, "INVALID_SESSION", "the J-Link connection is not open"},
    {-259, "LOW_VOLTAGE", "the target has no power (VTref too low)"},
    {-260, "INVALID_SESSION", "invalid handle"},
    {-261, "CANNOT_CONNECT", "no supported CPU found on the target"},
    {-262, "NOT_IMPLEMENTED", "this J-Link does not support the operation"},
    {-263, "OUT_OF_MEMORY", "the J-Link ran out of memory"},
    {-264, "CANNOT_CONNECT", "target interface error"},
    {-265, "VENDOR_VERIFY_ERROR", "programmed data differs from the source"},
    {-266, "NVMC_ERROR", "programming failed"},
    {-267, "VENDOR_VERIFY_ERROR", "verification of programmed data failed"},
    {-268, "FILE_ERROR", "a file could not be opened"},
    {-269, "FILE_ERROR", "unknown file format"},
    {-270, "WRITE_FAILED", "target memory could not be written"},
    {-271, "NOT_IMPLEMENTED", "the device does not support the operation"},
    {-272, "INVALID_PARAMETER", "the J-Link library is configured incorrectly"},
    {-273, "UNKNOWN_DEVICE", "no target device selected"},
    {-274, "CANNOT_CONNECT", "the target CPU is in a low-power mode"},
};

}  // namespace

std::vector<std::string> BindApi(platform::LibraryHandle handle, Api* api) {
  std::vector<std::string> missing;
  Bind(handle, "JLINKARM_GetDLLVersion", &api->GetDLLVersion, &missing);
  Bind(handle, "JLINKARM_EMU_GetList", &api->EMU_GetList, &missing);
  Bind(handle, "JLINKARM_EMU_SelectByUSBSN", &api->EMU_SelectByUSBSN, &missing);
  Bind(handle, "JLINKARM_OpenEx", &api->OpenEx, &missing);
  Bind(handle, "JLINKARM_Close", &api->Close, &missing);
  Bind(handle, "JLINKARM_ExecCommand", &api->ExecCommand, &missing);
  Bind(handle, "JLINKARM_TIF_Select", &api->TIF_Select, &missing);
  Bind(handle, "JLINKARM_SetSpeed", &api->SetSpeed, &missing);
  Bind(handle, "JLINKARM_Connect", &api->Connect, &missing);
  Bind(handle, "JLINKARM_ReadMemEx", &api->ReadMemEx, &missing);
  Bind(handle, "JLINKARM_WriteMemEx", &api->WriteMemEx, &missing);
  Bind(handle, "JLINKARM_WriteU32", &api->WriteU32, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_Configure", &api->CORESIGHT_Configure, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_ReadAPDPReg", &api->CORESIGHT_ReadAPDPReg, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_WriteAPDPReg", &api->CORESIGHT_WriteAPDPReg, &missing);
  Bind(handle, "JLINKARM_Halt", &api->Halt, &missing);
  Bind(handle, "JLINKARM_Go", &api->Go, &missing);
  Bind(handle, "JLINKARM_Reset", &api->Reset, &missing);
  Bind(handle, "JLINKARM_SetResetType", &api->SetResetType, &missing);
  Bind(handle, "JLINK_SetHookUnsecureDialog", &api->SetHookUnsecureDialog, &missing);
  return missing;
}

std::string FormatVersion(uint32_t raw) {
  uint32_t major = raw / 10000, minor = (raw / 100) % 100, revision = raw % 100;
  char text[32];
  if (revision > 0 && revision <= 26) {
    std::snprintf(text, sizeof text, "V%u.%02u%c", major, minor, static_cast<char>('a' + revision - 1));
  } else {
    std::snprintf(text, sizeof text, "V%u.%02u", major, minor);
  }
  return text;
}

const ErrorInfo* FindError(int code) {
  for (const ErrorInfo& info : kErrors) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

}  // namespace jlink
}  // namespace tfm
