// file: the state is written in a file by the operator or another tool
// (gdnsd's extfile idea): its first word is "up" or "ok" (up), "down" or
// "fail" (down); anything else, or a missing file, is a failure. The file
// is read each interval and at once when it changes: its directory is
// watched with uv_fs_event, so a file replaced by rename (as editors and
// `mv` do) is seen too.
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/log.hpp"
#include "server/probe.hpp"

namespace meridian {

namespace {

class FileProbe final : public Probe {
 public:
  FileProbe(uv_loop_t* loop, const CheckSpec& spec, std::function<void()> changed)
      : path_(spec.path), changed_(std::move(changed)) {
    namespace fs = std::filesystem;
    const fs::path p(path_);
    base_ = p.filename().string();
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    debounce_ = new uv_timer_t;
    uv_timer_init(loop, debounce_);
    debounce_->data = this;
    watch_ = new uv_fs_event_t;
    uv_fs_event_init(loop, watch_);
    watch_->data = this;
    if (int rc = uv_fs_event_start(watch_, on_event, dir.c_str(), 0); rc != 0)
      log::warn("check {}: cannot watch {} ({}); reading it each interval only", spec.name, dir, uv_strerror(rc));
  }
  ~FileProbe() override {
    close_and_delete(watch_);
    close_and_delete(debounce_);
  }

  void run(Done done) override { done(read()); }
  void cancel() override {}

 private:
  static void on_event(uv_fs_event_t* h, const char* filename, int, int status) {
    auto* self = static_cast<FileProbe*>(h->data);
    // A write often comes as several events (truncate, write, close): read
    // once, shortly after the last one.
    if (status == 0 && filename && self->base_ == filename)
      uv_timer_start(self->debounce_, [](uv_timer_t* t) {
        auto* me = static_cast<FileProbe*>(t->data);
        if (me->changed_) me->changed_();
      }, kDebounceMs, 0);
  }

  ProbeResult read() const {
    std::ifstream in(path_);
    if (!in) return {false, std::string("cannot read ") + path_ + ": " + std::strerror(errno)};
    std::string word;
    in >> word;
    if (word.size() > 32) word.resize(32);
    for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string reason = "file says ";
    if (word == "up" || word == "ok" || word == "down" || word == "fail") {
      reason.append(word);
      return {word == "up" || word == "ok", reason};
    }
    // (appends, not operator+: GCC 12 warns wrongly about that here, -Wrestrict)
    reason.append("'").append(word).append("' (expected up, ok, down or fail)");
    return {false, reason};
  }

  static constexpr std::uint64_t kDebounceMs = 30;
  std::string path_, base_;
  uv_timer_t* debounce_ = nullptr;
  std::function<void()> changed_;
  uv_fs_event_t* watch_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> make_file_probe(uv_loop_t* loop, const CheckSpec& spec, std::function<void()> changed) {
  return std::make_unique<FileProbe>(loop, spec, std::move(changed));
}

}  // namespace meridian
