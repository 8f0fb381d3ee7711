// kiln_bench_worker: kiln's side of bench/run_bench.py. One long-lived process per model,
// so that its peak RSS (VmHWM) is kiln's alone, answering line commands on stdin with one
// JSON line each on stdout. bench/ort_worker.py and bench/ov_worker.py speak the same
// protocol for ONNX Runtime and OpenVINO:
//
//   (start)                  {"ready": true, "load_s": S}  after loading the plan file
//   input NAME FILE.npy      binds an input for `run`           -> {"ok": true}
//   run N                    N timed inferences                 -> {"lat_ms": [...]}
//   dump DIR                 last run's outputs as DIR/NAME.npy -> {"ok": true}
//   stream LIST DIR|-        one inference per line of LIST ("name=file.npy ..."), each
//                            timed from binding its inputs to the end of the run, so
//                            per-shape preparation is counted; outputs of request i go to
//                            DIR/i/NAME.npy unless DIR is "-"   -> {"lat_ms": [...]}
//   quit
//
// Any failure answers {"error": "..."} with kiln's message unchanged, and the worker waits
// for the next command. The plan is built beforehand by the kiln CLI (--saveEngine), as a
// user would; this process only loads it, like a serving process.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "io/npy.h"
#include "kiln/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string json_string(const std::string& s) {
  std::ostringstream os;
  os << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (c < 0x20) {
      os << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(c) << std::dec;
    } else {
      os << c;
    }
  }
  os << '"';
  return os.str();
}

void reply(const std::string& json) { std::cout << json << '\n' << std::flush; }
void reply_error(const std::string& message) { reply("{\"error\": " + json_string(message) + "}"); }
void reply_ok() { reply("{\"ok\": true}"); }

void reply_latencies(const std::vector<double>& ms) {
  std::ostringstream os;
  os << std::setprecision(9) << "{\"lat_ms\": [";
  for (size_t i = 0; i < ms.size(); ++i) os << (i ? ", " : "") << ms[i];
  os << "]}";
  reply(os.str());
}

using NamedTensors = std::vector<std::pair<std::string, kiln::Tensor>>;

kiln::Status bind_all(kiln::ExecutionContext& ctx, const NamedTensors& inputs) {
  for (const auto& [name, tensor] : inputs) KILN_RETURN_IF_ERROR(ctx.set_input(name, tensor));
  return kiln::Status::ok();
}

kiln::Status dump_outputs(const kiln::Engine& engine, const kiln::ExecutionContext& ctx, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return kiln::io_error("cannot create " + dir + ": " + ec.message());
  const std::vector<kiln::Tensor>& outputs = ctx.outputs();
  if (outputs.size() != engine.outputs().size()) return kiln::internal_error("no outputs: nothing has run yet");
  for (size_t i = 0; i < outputs.size(); ++i) {
    KILN_RETURN_IF_ERROR(kiln::write_npy(dir + "/" + engine.outputs()[i].name + ".npy", outputs[i]));
  }
  return kiln::Status::ok();
}

// LIST: one request per line, "name=file.npy name=file.npy".
kiln::Result<std::vector<NamedTensors>> read_stream(const std::string& list_path) {
  std::FILE* f = std::fopen(list_path.c_str(), "r");
  if (!f) return kiln::io_error("cannot open " + list_path);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  std::vector<NamedTensors> requests;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    NamedTensors request;
    for (std::string word; words >> word;) {
      const size_t eq = word.find('=');
      if (eq == std::string::npos) return kiln::invalid_argument("stream entry without '=': " + word);
      KILN_ASSIGN_OR_RETURN(kiln::Tensor t, kiln::read_npy(word.substr(eq + 1)));
      request.emplace_back(word.substr(0, eq), std::move(t));
    }
    if (!request.empty()) requests.push_back(std::move(request));
  }
  return requests;
}

kiln::Status run_stream(const kiln::Engine& engine, kiln::ExecutionContext& ctx, const std::string& list,
                        const std::string& dump_dir, std::vector<double>& latencies) {
  KILN_ASSIGN_OR_RETURN(std::vector<NamedTensors> requests, read_stream(list));
  for (size_t i = 0; i < requests.size(); ++i) {
    const Clock::time_point start = Clock::now();
    KILN_RETURN_IF_ERROR(bind_all(ctx, requests[i]).with_context("request " + std::to_string(i)));
    KILN_RETURN_IF_ERROR(ctx.run().with_context("request " + std::to_string(i)));
    latencies.push_back(ms_between(start, Clock::now()));
    if (dump_dir != "-") KILN_RETURN_IF_ERROR(dump_outputs(engine, ctx, dump_dir + "/" + std::to_string(i)));
  }
  return kiln::Status::ok();
}

int serve(const kiln::Engine& engine) {
  std::unique_ptr<kiln::ExecutionContext> ctx = engine.create_context();
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (command == "quit") return 0;
    if (command == "input") {
      std::string name, path;
      words >> name >> path;
      kiln::Result<kiln::Tensor> t = kiln::read_npy(path);
      if (!t.is_ok()) {
        reply_error(t.status().message());
        continue;
      }
      const kiln::Status s = ctx->set_input(name, *t);
      s.is_ok() ? reply_ok() : reply_error(s.message());
    } else if (command == "run") {
      long iterations = 0;
      words >> iterations;
      std::vector<double> latencies;
      latencies.reserve(iterations > 0 ? static_cast<size_t>(iterations) : 0);
      kiln::Status s;
      for (long i = 0; i < iterations && s.is_ok(); ++i) {
        const Clock::time_point start = Clock::now();
        s = ctx->run();
        latencies.push_back(ms_between(start, Clock::now()));
      }
      s.is_ok() ? reply_latencies(latencies) : reply_error(s.message());
    } else if (command == "dump") {
      std::string dir;
      words >> dir;
      const kiln::Status s = dump_outputs(engine, *ctx, dir);
      s.is_ok() ? reply_ok() : reply_error(s.message());
    } else if (command == "stream") {
      std::string list, dump_dir;
      words >> list >> dump_dir;
      std::vector<double> latencies;
      const kiln::Status s = run_stream(engine, *ctx, list, dump_dir.empty() ? "-" : dump_dir, latencies);
      s.is_ok() ? reply_latencies(latencies) : reply_error(s.message());
    } else {
      reply_error("unknown command: " + line);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]).rfind("--plan=", 0) != 0) {
    std::cerr << "usage: kiln_bench_worker --plan=FILE.plan (then commands on stdin, see bench/kiln_worker.cpp)\n";
    return 2;
  }
  const std::string plan = std::string(argv[1]).substr(7);
  const Clock::time_point start = Clock::now();
  kiln::Result<std::shared_ptr<kiln::Engine>> engine = kiln::Engine::from_plan_file(plan);
  if (!engine.is_ok()) {
    reply_error("cannot load engine '" + plan + "': " + engine.status().message());
    return 1;
  }
  std::ostringstream ready;
  ready << std::setprecision(6) << "{\"ready\": true, \"load_s\": " << ms_between(start, Clock::now()) / 1000 << "}";
  reply(ready.str());
  return serve(**engine);
}
