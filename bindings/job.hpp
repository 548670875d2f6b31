// Runs a native job either now (sync form) or on the libuv thread pool
// (async form, returning a Promise). The async form holds references to the
// JavaScript arrays it reads and writes so they outlive the job.
//
// A job reports bad input it finds while running (non-finite values) by
// throwing JobRangeError: the sync form throws, and the async form rejects
// with, a RangeError carrying its message. Other exceptions become Errors.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <stdexcept>
#include <vector>

#include "common/threads.hpp"

namespace ntk_bindings {

/// An error of the caller's input found by a running job: a RangeError in JavaScript.
struct JobRangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::function<void()> job, const std::vector<Napi::Value>& keep)
      : Napi::AsyncWorker(env), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {
    for (const auto& v : keep)
      if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      const ntk::RunningJob running;
      job_();
    } catch (const JobRangeError& e) {
      range_error_ = true;
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override {
    if (range_error_) {
      deferred_.Reject(Napi::RangeError::New(Env(), e.Message()).Value());
      return;
    }
    deferred_.Reject(e.Value());
  }

 private:
  std::function<void()> job_;
  bool range_error_ = false;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

/// Runs job synchronously (returning undefined) or asynchronously (returning
/// a Promise that settles when it is done).
inline Napi::Value run_job(Napi::Env env, bool async, std::function<void()> job,
                           const std::vector<Napi::Value>& keep) {
  if (!async) {
    try {
      const ntk::RunningJob running;
      job();
    } catch (const JobRangeError& e) {
      throw Napi::RangeError::New(env, e.what());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }
  auto* worker = new JobWorker(env, std::move(job), keep);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace ntk_bindings
