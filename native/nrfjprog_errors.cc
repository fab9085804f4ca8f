#include "nrfjprog_errors.h"

namespace tfm {

namespace {

// Every value of nrfjprogdll_err_t except SUCCESS. Several vendor values share one stable code
// where an operator would act the same way; the vendor name stays in the message and vendorCode.
const NrfjprogError kErrors[] = {
    {-1, "OUT_OF_MEMORY", "OUT_OF_MEMORY", "The nrfjprog library ran out of memory."},
    {-2, "INVALID_OPERATION", "INVALID_OPERATION", "The operation is not valid in the probe's current state."},
    {-3, "INVALID_PARAMETER", "INVALID_PARAMETER", "A parameter was rejected (for example an unaligned address)."},
    {-4, "INVALID_DEVICE_FOR_OPERATION", "INVALID_DEVICE_FOR_OPERATION",
     "The connected device does not support this operation (for example the network core on an nRF91)."},
    {-5, "WRONG_FAMILY_FOR_DEVICE", "WRONG_FAMILY", "The connected device is of another family than the one selected."},
    {-6, "UNKNOWN_DEVICE", "UNKNOWN_DEVICE", "The connected device is not one the nrfjprog library knows."},
    {-7, "INVALID_SESSION", "INVALID_SESSION", "The nrfjprog instance is not valid (closed, or never opened)."},
    {-10, "EMULATOR_NOT_CONNECTED", "PROBE_DISCONNECTED", "The debug probe is not connected; check its USB cable."},
    {-11, "CANNOT_CONNECT", "CANNOT_CONNECT",
     "The probe cannot reach the device: check the SWD cable, that the board is powered and that no other debugger holds it."},
    {-12, "LOW_VOLTAGE", "LOW_VOLTAGE", "The device supply voltage is too low for debugging; check the board's power."},
    {-13, "NO_EMULATOR_CONNECTED", "NO_PROBES", "No debug probe is connected to this computer."},
    {-20, "NVMC_ERROR", "NVMC_ERROR", "The flash controller reported an error; the target word may not be erased."},
    {-21, "RECOVER_FAILED", "RECOVER_FAILED", "Recover (CTRL-AP erase-all) failed; power-cycle the device and retry."},
    {-90, "NOT_AVAILABLE_BECAUSE_PROTECTION", "DEVICE_PROTECTED",
     "The device's access port protection is enabled; only a recover (which erases the device) reopens it."},
    {-91, "NOT_AVAILABLE_BECAUSE_MPU_CONFIG", "NOT_AVAILABLE_BECAUSE_MPU_CONFIG", "The device's MPU configuration blocks this access."},
    {-92, "NOT_AVAILABLE_BECAUSE_COPROCESSOR_DISABLED", "COPROCESSOR_DISABLED",
     "The selected coprocessor is disabled (for example the nRF5340 network core is held in FORCEOFF)."},
    {-93, "NOT_AVAILABLE_BECAUSE_TRUST_ZONE", "NOT_AVAILABLE_BECAUSE_TRUST_ZONE", "TrustZone (SPU) configuration blocks this access."},
    {-94, "NOT_AVAILABLE_BECAUSE_BPROT", "NOT_AVAILABLE_BECAUSE_BPROT", "Flash block protection (BPROT) blocks this write."},
    {-100, "JLINKARM_DLL_NOT_FOUND", "JLINK_LIBRARY_NOT_FOUND",
     "nrfjprog could not find the SEGGER J-Link library; install the J-Link software (or set TFM_PROVISION_JLINK_LIBRARY)."},
    {-101, "JLINKARM_DLL_COULD_NOT_BE_OPENED", "JLINK_LIBRARY_ERROR", "nrfjprog could not open the SEGGER J-Link library."},
    {-102, "JLINKARM_DLL_ERROR", "JLINK_LIBRARY_ERROR", "The SEGGER J-Link library reported an error."},
    {-103, "JLINKARM_DLL_TOO_OLD", "JLINK_LIBRARY_TOO_OLD", "The SEGGER J-Link library is too old for this nrfjprog; update the J-Link software."},
    {-104, "JLINKARM_DLL_READ_ERROR", "PROBE_TRANSFER_ERROR", "A transfer over the probe failed; check the SWD connection."},
    {-105, "JLINKARM_DLL_TIME_OUT_ERROR", "VENDOR_TIMEOUT", "The J-Link library timed out (for example on unpowered RAM)."},
    {-110, "SERIAL_PORT_NOT_FOUND", "SERIAL_PORT_ERROR", "The probe's serial port was not found."},
    {-111, "SERIAL_PORT_PERMISSION_ERROR", "SERIAL_PORT_ERROR", "No permission to open the probe's serial port."},
    {-112, "SERIAL_PORT_WRITE_ERROR", "SERIAL_PORT_ERROR", "Writing to the probe's serial port failed."},
    {-113, "SERIAL_PORT_READ_ERROR", "SERIAL_PORT_ERROR", "Reading from the probe's serial port failed."},
    {-114, "SERIAL_PORT_RESOURCE_ERROR", "SERIAL_PORT_ERROR", "The probe's serial port is busy or was lost."},
    {-115, "SERIAL_PORT_NOT_OPEN_ERROR", "SERIAL_PORT_ERROR", "The probe's serial port is not open."},
    {-150, "NRFJPROG_SUB_DLL_NOT_FOUND", "VENDOR_LIBRARY_ERROR",
     "A family library of nrfjprog is missing; reinstall the nRF Command Line Tools."},
    {-151, "NRFJPROG_SUB_DLL_COULD_NOT_BE_OPENED", "VENDOR_LIBRARY_ERROR",
     "A family library of nrfjprog could not be opened; reinstall the nRF Command Line Tools."},
    {-152, "NRFJPROG_SUB_DLL_COULD_NOT_LOAD_FUNCTIONS", "VENDOR_LIBRARY_ERROR",
     "A family library of nrfjprog lacks functions; reinstall the nRF Command Line Tools."},
    {-153, "NRFJPROG_HOST_EXE_NOT_FOUND", "VENDOR_WORKER_NOT_FOUND",
     "nrfjprog's worker program (jlinkarm_nrf_worker) was not found next to the library; reinstall the nRF Command Line Tools."},
    {-160, "VERIFY_ERROR", "VENDOR_VERIFY_ERROR", "Read-back after the write did not match."},
    {-161, "RAM_IS_OFF_ERROR", "RAM_IS_OFF", "The RAM at this address is not powered."},
    {-162, "FILE_OPERATION_FAILED", "FILE_ERROR", "A file operation of the nrfjprog library failed."},
    {-170, "FILE_PARSING_ERROR", "FILE_ERROR", "The nrfjprog library could not parse a file."},
    {-171, "FILE_UNKNOWN_FORMAT_ERROR", "FILE_ERROR", "The nrfjprog library does not know the file's format."},
    {-172, "FILE_INVALID_ERROR", "FILE_ERROR", "The file is not valid."},
    {-173, "UNKNOWN_MEMORY_ERROR", "UNKNOWN_MEMORY", "The address is not in any memory the device has."},
    {-174, "CONFIG_TYPE_ERROR", "VENDOR_CONFIG_ERROR", "The nrfjprog configuration has a value of the wrong type."},
    {-175, "CONFIG_SYNTAX_ERROR", "VENDOR_CONFIG_ERROR", "The nrfjprog configuration has a syntax error."},
    {-176, "CONFIG_PROPERTY_MISSING_ERROR", "VENDOR_CONFIG_ERROR", "The nrfjprog configuration lacks a required property."},
    {-220, "TIME_OUT", "VENDOR_TIMEOUT", "The operation timed out."},
    {-221, "DFU_ERROR", "VENDOR_LIBRARY_ERROR", "A DFU operation of the nrfjprog library failed."},
    {-254, "INTERNAL_ERROR", "VENDOR_INTERNAL_ERROR", "The nrfjprog library reported an internal error."},
    {-255, "NOT_IMPLEMENTED_ERROR", "NOT_IMPLEMENTED", "This nrfjprog library does not implement the operation."},
};

}  // namespace

const NrfjprogError* FindNrfjprogError(int32_t value) {
  for (const NrfjprogError& error : kErrors) {
    if (error.value == value) return &error;
  }
  return nullptr;
}

Status NrfjprogStatus(int32_t value, const char* function, const std::string& context) {
  const NrfjprogError* error = FindNrfjprogError(value);
  std::string what = context.empty() ? std::string(function) : context + " (" + function + ")";
  if (error == nullptr) {
    return Status::Error("VENDOR_LIBRARY_ERROR",
                         what + " failed with unknown nrfjprog error " + std::to_string(value) + ".", function, true, value);
  }
  return Status::Error(error->code, what + " failed: " + error->name + " (" + std::to_string(value) + "). " + error->guidance,
                       function, true, value);
}

}  // namespace tfm
