// One thread and one job queue per open probe (and a short-lived one per probe listing).
//
// Why not Napi::AsyncWorker: it runs on the libuv pool, 4 threads by default, which would silently
// cap a 16-probe station at 4 probes in parallel. Here every probe has its own std::thread, so
// calls on one probe run in order and calls on different probes run in parallel.
//
// Results and log lines reach JavaScript only through one ThreadSafeFunction per worker; nothing
// touches N-API off the JS thread. The TSFN is unref'd while no call is pending, so open but idle
// probes never keep the process alive; an env cleanup hook closes the backend and joins the thread
// when the environment goes away (process exit, worker_threads termination).
//
// Lifetime: a Worker is created and destroyed on the JS thread. Its owner (a Session or a listing)
// either closes it or detaches from it (garbage collection). The Worker deletes itself once the
// owner is gone AND its TSFN has been finalized: messages the thread queued before the TSFN was
// released (a result, its last "finished") are still delivered to the Worker after a shutdown(),
// so it must outlive the TSFN's queue, which only the finalizer guarantees.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "backend.h"

namespace tfm {

// Released (on whatever thread) when the probe's backend has been closed: the process-wide claim
// that makes a second open of the same probe fail with PROBE_BUSY. Keyed by the probe's serial
// number alone: nrfjprog and J-Link sessions on one physical probe exclude each other too.
class ProbeClaim {
 public:
  // nullptr when the probe is already claimed; then *holder names the backend holding it.
  static std::unique_ptr<ProbeClaim> TryClaim(const std::string& backend, uint32_t serialNumber, std::string* holder);
  ~ProbeClaim();
  ProbeClaim(const ProbeClaim&) = delete;
  ProbeClaim& operator=(const ProbeClaim&) = delete;

 private:
  explicit ProbeClaim(uint32_t serial) : serial_(serial) {}
  uint32_t serial_;
};

// State owned by the worker thread; jobs get it in Execute().
struct WorkerContext {
  std::shared_ptr<Library> library;
  std::unique_ptr<ProbeBackend> backend;
  std::unique_ptr<ProbeClaim> claim;
  LogSink log;

  // Closes and destroys the backend, then releases the claim. Idempotent.
  void CloseBackend();
};

class Job {
 public:
  virtual ~Job() = default;
  // Worker thread.
  virtual void Execute(WorkerContext& context) = 0;
  // JS thread: settles the promise from what Execute stored.
  virtual void Complete(Napi::Env env) = 0;
  // Whether a pending job keeps the event loop (and so the process) alive.
  virtual bool KeepsLoopAlive() const { return true; }
  // After a final job the thread closes the backend and ends.
  bool final = false;
  // The call reads or writes the KMU key-value window (key_window.h): while it runs, every log line
  // reaching this worker's sink is dropped (vendor traces print the data they move), counted, and
  // replaced by one summary line. The window is opened and closed by the worker thread around
  // Execute(), and checked where lines arrive, so lines a vendor thread delivers during the call
  // are dropped as well as those from the calling thread.
  bool keySlotAccess = false;
};

struct LogEntry {
  std::string level;
  std::string source;
  std::string message;
};

class WorkerOwner {
 public:
  virtual ~WorkerOwner() = default;
  // JS thread.
  virtual void OnLog(Napi::Env env, const LogEntry& entry) = 0;
};

struct WorkerCore;
struct WorkerMessage;
class Worker;

// The live workers of one environment, so that process.exit() can close them all (Node runs env
// cleanup hooks when the event loop ends, not on process.exit()).
struct WorkerRegistry {
  std::set<Worker*> workers;
  // How long an exiting process waits, in all, for vendor calls still in progress
  // (TFM_PROVISION_EXIT_WAIT_MS, read once when the addon loads; default 15 s: a recover can take
  // ~30 s on real hardware, ordinary calls take milliseconds).
  std::chrono::milliseconds exitWait{15000};
  // Fixed by the first exit step (shutdown() or the first env cleanup hook): every worker is waited
  // for until this one instant, so N hung probes cost one budget, not N.
  bool exitDeadlineSet = false;
  std::chrono::steady_clock::time_point exitDeadline;
  void StartExitClock();
};

class Worker {
 public:
  // JS thread. Starts the thread; throws a JS error if that fails. `owner` may be nullptr.
  static Worker* Start(Napi::Env env, WorkerRegistry* registry, const std::string& name,
                       std::shared_ptr<Library> library, WorkerOwner* owner);

  // JS thread, synchronous: closes every live worker of the registry now (pending calls are
  // dropped, vendor instances closed, threads joined). For process.on('exit').
  static void ShutdownAll(WorkerRegistry* registry);

  // JS thread. Queues a job; returns false (and drops the job) once a final job was queued.
  bool Submit(Napi::Env env, std::unique_ptr<Job> job);
  bool Closing() const { return finalSubmitted_; }

  // JS thread: whether the owner has log listeners. Lines that arrive while it has none are dropped
  // where they arrive (any thread), before they are copied or queued for JavaScript.
  void SetLogListening(bool listening);

  // JS thread: the owner is going away (finalizer, or a listing that is done with it). Queues a
  // close when none was queued. May delete this.
  void DetachOwner();

  // JS thread: a call on this worker timed out (its vendor call hangs). Pending calls stop keeping
  // the process alive; whatever they return later is still delivered, and the thread still closes
  // the backend if the vendor call ever returns.
  void Abandon(Napi::Env env);

  // Number of workers whose thread has not finished; for leak tests.
  static int64_t LiveCount();

  // The TSFN's JS-thread callback (public only because it is a template argument).
  static void CallJs(Napi::Env env, Napi::Function, Worker* worker, WorkerMessage* message);

 private:
  friend struct std::default_delete<Worker>;
  Worker() = default;
  ~Worker();
  static void OnEnvCleanup(void* arg);
  static void OnTsfnFinalize(Napi::Env env, void* data, Worker* worker);
  // Deletes this once nothing can reach it any more (owner detached, TSFN finalized).
  void DeleteIfUnreachable();
  static void Run(std::shared_ptr<WorkerCore> core);
  void OnJobDone(Napi::Env env, std::unique_ptr<Job> job);
  void OnThreadFinished();
  void BeginExit();
  void FinishExit();
  void ReleaseResources();

  std::shared_ptr<WorkerCore> core_;
  std::thread thread_;
  napi_env env_ = nullptr;
  WorkerRegistry* registry_ = nullptr;
  WorkerOwner* owner_ = nullptr;
  bool ownerDetached_ = false;
  bool finalSubmitted_ = false;
  bool threadFinished_ = false;
  bool hookRegistered_ = false;
  bool exitBegun_ = false;
  bool tsfnReleased_ = false;   // no Ref/Unref after this
  bool abandoned_ = false;      // Abandon(): no Ref any more
  bool tsfnFinalized_ = false;  // no message can arrive any more
  int64_t pendingLoopJobs_ = 0;
};

}  // namespace tfm
