#pragma once
// Watches the zones directory and the GeoIP database files (inotify through
// libuv's fs events) and calls back once things have been quiet for the
// debounce time, so an editor's write-rename-chmod sequence, or `cp` of ten
// zone files, makes one reload rather than ten. Runs on the main loop, next
// to the signal handlers; the callback runs there too.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace meridian {

class FileWatcher {
 public:
  // What changed since the last callback.
  struct Changes {
    bool zones = false;
    bool geoip = false;
  };
  using Callback = std::function<void(const Changes&)>;

  FileWatcher(uv_loop_t* loop, unsigned debounce_ms, Callback cb);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Zone files: *.toml in `dir`. GeoIP: the named files (their directories
  // are watched, so a database replaced by rename is seen). False with a
  // reason when the kernel refuses a watch (e.g. inotify limits).
  bool watch_zones(const std::string& dir, std::string& error);
  bool watch_file(const std::string& path, std::string& error);

 private:
  struct Watch;
  static void on_event(uv_fs_event_t* h, const char* filename, int events, int status);
  static void on_quiet(uv_timer_t* t);
  bool add(const std::string& dir, const std::string& file, bool zones, std::string& error);

  uv_loop_t* loop_;
  unsigned debounce_ms_;
  Callback cb_;
  uv_timer_t* timer_;  // owned by libuv until its close callback
  Changes pending_;
  std::vector<Watch*> watches_;
};

}  // namespace meridian
