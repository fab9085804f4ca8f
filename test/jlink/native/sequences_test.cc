// Test driver for native/jlink_sequences.cc: runs one sequence against a scripted device and prints
// what the sequence did as JSON (test/jlink/sequences.test.ts asserts on it). `layout` prints the
// chip layout of native/jlink_layout.cc, which test/jlink/layout.test.ts checks against lib/targets.
//
//   sequences_test layout
//   sequences_test <sequence> [key=value ...]
//
// The device: memory words and AP registers start at 0 unless set (mem:ADDR=V, ap:AP:REG=V);
// ready_busy=N: NVMC.READY reads 0 for N polls; erase_busy=N: ERASEALLSTATUS reads 1 for N polls
// (-1: forever); csw_disabled_reads=N: MEM-AP CSW reads DeviceEn clear N times (-1: forever); fail_mem=ADDR / fail_ap=AP:REG: that transfer fails. Time is virtual: sleep()
// advances the clock, and every transfer costs 1 ms, so deadlines run without waiting.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "jlink_layout.h"
#include "jlink_sequences.h"

using namespace tfm;
using namespace tfm::jlink;

namespace {

constexpr std::chrono::microseconds kTransferCost(1000);

struct Device {
  std::map<uint32_t, uint32_t> mem;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> ap;
  long readyBusy = 0, eraseBusy = 0, cswDisabledReads = 0;
  bool failMemSet = false, failApSet = false;
  uint32_t failMem = 0;
  std::pair<uint32_t, uint32_t> failAp;
  std::vector<std::string> trace;
  std::chrono::steady_clock::time_point clock{};

  void Tick(std::chrono::microseconds d) { clock += d; }
  void Log(const char* fmt, uint32_t a, uint32_t b, uint32_t c = 0) {
    char line[96];
    std::snprintf(line, sizeof line, fmt, a, b, c);
    trace.push_back(line);
  }
};

uint32_t Number(const std::string& text) { return static_cast<uint32_t>(std::strtoul(text.c_str(), nullptr, 0)); }

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

WordTransfer TransferFor(Device* d) {
  WordTransfer t;
  t.who = "J-Link S/N 1";
  t.now = [d] { return d->clock; };
  t.sleep = [d](std::chrono::microseconds us) {
    d->Log("sleep %u us", static_cast<uint32_t>(us.count()), 0);
    d->Tick(us);
  };
  t.apRead = [d](uint8_t ap, uint32_t reg, uint32_t* out) {
    d->Tick(kTransferCost);
    if (d->failApSet && d->failAp == std::pair<uint32_t, uint32_t>(ap, reg)) {
      d->Log("ap%u read 0x%03X failed", ap, reg);
      return Status::Error("CANNOT_CONNECT", "injected AP failure");
    }
    uint32_t value = d->ap[{ap, reg}];
    if (reg == kMemApCsw && d->cswDisabledReads > 0) {
      value &= ~kCswDeviceEn;  // powering up: DeviceEn clear for this many reads
      d->cswDisabledReads--;
    } else if (reg == kMemApCsw && d->cswDisabledReads < 0) {
      value &= ~kCswDeviceEn;  // never comes up
    }
    if (reg == kCtrlApEraseAllStatus && d->eraseBusy != 0) {
      value = 1;
      if (d->eraseBusy > 0) d->eraseBusy--;
    }
    *out = value;
    d->Log("ap%u read 0x%03X = 0x%08X", ap, reg, value);
    return Status::Ok();
  };
  t.apWrite = [d](uint8_t ap, uint32_t reg, uint32_t value) {
    d->Tick(kTransferCost);
    if (d->failApSet && d->failAp == std::pair<uint32_t, uint32_t>(ap, reg)) {
      d->Log("ap%u write 0x%03X failed", ap, reg);
      return Status::Error("CANNOT_CONNECT", "injected AP failure");
    }
    d->ap[{ap, reg}] = value;
    d->Log("ap%u write 0x%03X = 0x%08X", ap, reg, value);
    return Status::Ok();
  };
  t.memRead = [d](uint32_t address, uint32_t* words, size_t count) {
    for (size_t i = 0; i < count; i++) {
      uint32_t a = address + static_cast<uint32_t>(4 * i);
      d->Tick(kTransferCost);
      if (d->failMemSet && d->failMem == a) {
        d->Log("mem read 0x%08X failed", a, 0);
        return Status::Error("DEVICE_PROTECTED", "injected memory failure");
      }
      uint32_t value = d->mem[a];
      if ((a & 0xFFFu) == kNvmcReady) {
        value = d->readyBusy > 0 ? 0 : 1;
        if (d->readyBusy > 0) d->readyBusy--;
      }
      words[i] = value;
      d->Log("mem read 0x%08X = 0x%08X", a, value);
    }
    return Status::Ok();
  };
  t.memWrite = [d](uint32_t address, const uint32_t* words, size_t count) {
    for (size_t i = 0; i < count; i++) {
      uint32_t a = address + static_cast<uint32_t>(4 * i);
      d->Tick(kTransferCost);
      if (d->failMemSet && d->failMem == a) {
        d->Log("mem write 0x%08X failed", a, 0);
        return Status::Error("WRITE_FAILED", "injected memory failure");
      }
      d->mem[a] = words[i];
      d->Log("mem write 0x%08X = 0x%08X", a, words[i]);
    }
    return Status::Ok();
  };
  return t;
}

void PrintLayout() {
  std::printf("{\"families\":[");
  for (int i = 0; i < kFamilyCount; i++) {
    const FamilyLayout& f = kFamilies[i];
    auto core = [](const CoreLayout& c) {
      std::printf("{\"name\":\"%s\",\"ahbAp\":%u,\"ctrlAp\":%u,\"nvmcBase\":%u,\"flashBase\":%u,\"flashSize\":%u,"
                  "\"pageSize\":%u,\"uicrBase\":%u,\"uicrSize\":%u,\"approtect\":%u,\"debugLock\":",
                  c.name, c.ahbAp, c.ctrlAp, c.nvmcBase, c.flashBase, c.flashSize, c.pageSize, c.uicrBase, c.uicrSize,
                  c.approtect);
      if (c.lockCheck == LockCheck::CtrlApApprotectStatus) {
        std::printf("{\"kind\":\"ctrlApApprotectStatus\",\"register\":%u}}", c.approtectStatus);
      } else {
        std::printf("{\"kind\":\"ahbApCswDeviceEn\"}}");
      }
    };
    std::printf("%s{\"family\":\"%s\",\"jlinkDevice\":\"%s\",\"application\":", i ? "," : "", f.family, f.jlinkDevice);
    core(f.application);
    if (f.hasNetwork) {
      std::printf(",\"network\":");
      core(f.network);
      const NetworkRelease& r = f.release;
      std::printf(",\"release\":{\"forceOff\":%u,\"forceOffNonSecure\":%u,\"resetPeriphPerm\":%u,\"ficrVar1\":%u,"
                  "\"ficrVar2\":%u,\"workaroundOffset\":%u,\"accessTimeoutMs\":%u}",
                  r.forceOffSecure, r.forceOffNonSecure, r.resetPeriphPerm, r.erratumFicrVar1, r.erratumFicrVar2,
                  r.erratumWorkaroundOffset, r.accessTimeoutMs);
    }
    std::printf(",\"eraseProtectStatus\":%u,\"resetAfterEraseAll\":%s}", f.eraseProtectStatus,
                f.resetAfterEraseAll ? "true" : "false");
  }
  std::printf("],\n\"chips\":[");
  for (int i = 0; i < kChipCount; i++) {
    std::printf("%s{\"part\":%u,\"family\":\"%s\",\"approtectUnprotected\":%u}", i ? "," : "", kChips[i].part,
                kChips[i].family, kChips[i].approtectUnprotected);
  }
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sequences_test layout | <sequence> [key=value ...]\n");
    return 2;
  }
  std::string sequence = argv[1];
  if (sequence == "layout") {
    PrintLayout();
    return 0;
  }
  Device device;
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; i++) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key.rfind("mem:", 0) == 0) {
      device.mem[Number(key.substr(4))] = Number(value);
    } else if (key.rfind("ap:", 0) == 0) {
      size_t colon = key.find(':', 3);
      device.ap[{Number(key.substr(3, colon - 3)), Number(key.substr(colon + 1))}] = Number(value);
    } else if (key == "ready_busy") {
      device.readyBusy = std::strtol(value.c_str(), nullptr, 0);
    } else if (key == "csw_disabled_reads") {
      device.cswDisabledReads = std::strtol(value.c_str(), nullptr, 0);
    } else if (key == "erase_busy") {
      device.eraseBusy = std::strtol(value.c_str(), nullptr, 0);
    } else if (key == "fail_mem") {
      device.failMemSet = true;
      device.failMem = Number(value);
    } else if (key == "fail_ap") {
      size_t colon = value.find(':');
      device.failApSet = true;
      device.failAp = {Number(value.substr(0, colon)), Number(value.substr(colon + 1))};
    } else {
      args[key] = value;
    }
  }
  auto arg = [&](const char* name, uint32_t fallback) { return args.count(name) ? Number(args[name]) : fallback; };

  WordTransfer t = TransferFor(&device);
  Status status;
  std::string result;  // sequence-specific output, a JSON value
  if (sequence == "memap-read" || sequence == "memap-write") {
    size_t count = arg("count", 1);
    std::vector<uint32_t> words(count);
    for (size_t i = 0; i < count; i++) words[i] = 0x11111111u * static_cast<uint32_t>(i + 1);
    bool read = sequence == "memap-read";
    status = MemApTransfer(t, static_cast<uint8_t>(arg("ap", 1)), arg("csw", 0x23000000u), arg("address", 0), count,
                           read ? words.data() : nullptr, read ? nullptr : words.data());
  } else if (sequence == "ap-lock") {
    bool locked = false;
    uint32_t csw = 0;
    status = ReadApLock(t, static_cast<uint8_t>(arg("ap", 1)), &locked, &csw);
    result = locked ? "true" : "false";
  } else if (sequence == "ctrlap-erase-all") {
    status = CtrlApEraseAll(t, static_cast<uint8_t>(arg("ctrl_ap", 2)), std::chrono::milliseconds(arg("timeout_ms", 100)),
                            "NVMC_TIMEOUT");
  } else if (sequence == "ctrlap-reset") {
    status = CtrlApResetPulse(t, static_cast<uint8_t>(arg("ctrl_ap", 2)));
  } else if (sequence == "nvmc-write") {
    std::vector<uint32_t> words(arg("count", 1), arg("value", 0x12345678u));
    status = NvmcWrite(t, arg("nvmc", 0x50039000u), arg("address", 0x1000), words.data(), words.size(), "writing");
  } else if (sequence == "nvmc-erase-page") {
    status = NvmcErasePage(t, arg("nvmc", 0x50039000u), arg("address", 0x1000), "erasing the page");
  } else if (sequence == "nvmc-erase-all") {
    status = NvmcEraseAll(t, arg("nvmc", 0x50039000u), std::chrono::milliseconds(arg("timeout_ms", 100)), "erasing all");
  } else if (sequence == "core-lock" || sequence == "wait-accessible") {
    const FamilyLayout* family = FamilyByName(args.count("family") ? args["family"] : "NRF53");
    const CoreLayout& core = args.count("core") && args["core"] == "network" ? family->network : family->application;
    bool value = false;
    if (sequence == "core-lock") {
      status = ReadCoreLock(t, core, &value);
    } else {
      status = WaitCoreAccessible(t, core, std::chrono::milliseconds(arg("timeout_ms", 300)), &value);
    }
    result = value ? "true" : "false";
  } else if (sequence == "release-forceoff" || sequence == "hold-forceoff") {
    const NetworkRelease& r = FamilyByName("NRF53")->release;
    bool released = false;
    status = sequence == "hold-forceoff" ? HoldForceOff(t, r) : ReleaseForceOff(t, r, &released);
    result = released ? "true" : "false";
  } else {
    std::fprintf(stderr, "unknown sequence %s\n", sequence.c_str());
    return 2;
  }
  std::printf("{\"ok\":%s,\"code\":\"%s\",\"message\":\"%s\"", status.ok ? "true" : "false", Escape(status.code).c_str(),
              Escape(status.message).c_str());
  if (!result.empty()) std::printf(",\"result\":%s", result.c_str());
  std::printf(",\"trace\":[");
  for (size_t i = 0; i < device.trace.size(); i++) std::printf("%s\"%s\"", i ? "," : "", Escape(device.trace[i]).c_str());
  std::printf("]}\n");
  return 0;
}
