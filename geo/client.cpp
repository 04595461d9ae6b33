#include "geo/client.hpp"

#include "geo/geoip_db.hpp"

namespace meridian {

const Location& ClientInfo::location() const {
  if (!looked_up_) {
    looked_up_ = true;
    loc_ = (geo && family != 0) ? geo->lookup(family, addr) : Location{};
  }
  return loc_;
}

}  // namespace meridian
