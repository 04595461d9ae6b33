# Install layout, man pages, systemd unit and the Debian package.
#   cmake --build build && (cd build && cpack -G DEB)
# Included at the end of the top-level CMakeLists.txt. docs/packaging.md.

# A system daemon: /usr/sbin, /usr/share, with its config in /etc and its
# unit in /lib/systemd/system, as Debian lays them out. The package always
# uses MERIDIAN_PACKAGE_PREFIX (cpack installs with that prefix whatever
# CMAKE_INSTALL_PREFIX is), and the config and unit name files under it.
# `cmake --install` defaults to the same prefix in a new build directory.
set(MERIDIAN_PACKAGE_PREFIX /usr CACHE PATH "Prefix of the installed package (paths in the unit and config)")
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX ${MERIDIAN_PACKAGE_PREFIX} CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)
set(MERIDIAN_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "Where the systemd unit is installed")
# Package-provided sysctl defaults; an operator's /etc/sysctl.d overrides them.
set(MERIDIAN_SYSCTL_DIR /usr/lib/sysctl.d CACHE PATH "Where the sysctl drop-in (UDP buffer limits) is installed")
set(MERIDIAN_CONFIG_DIR /etc/meridian)  # also the built-in default of --config (server/main.cpp)

set(pkg ${CMAKE_CURRENT_SOURCE_DIR}/packaging)
set(pkg_out ${CMAKE_BINARY_DIR}/packaging)

# Paths as installed, written into the config and the unit.
set(MERIDIAN_INSTALLED_BINARY ${MERIDIAN_PACKAGE_PREFIX}/${CMAKE_INSTALL_SBINDIR}/meridian)
set(MERIDIAN_GEOIP_INSTALLED ${MERIDIAN_PACKAGE_PREFIX}/${CMAKE_INSTALL_DATADIR}/meridian/geoip/meridian-country.mmdb)
configure_file(${pkg}/etc/meridian.toml.in ${pkg_out}/meridian.toml @ONLY)
configure_file(${pkg}/meridian.service.in ${pkg_out}/meridian.service @ONLY)

install(TARGETS meridian RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${pkg_out}/meridian.toml DESTINATION ${MERIDIAN_CONFIG_DIR})
install(DIRECTORY ${pkg}/etc/zones/ DESTINATION ${MERIDIAN_CONFIG_DIR}/zones FILES_MATCHING PATTERN "*.toml")
install(FILES ${pkg_out}/meridian.service DESTINATION ${MERIDIAN_SYSTEMD_UNIT_DIR})
install(FILES ${pkg}/sysctl.d/30-meridian.conf DESTINATION ${MERIDIAN_SYSCTL_DIR})
install(FILES README.md docs/packaging.md docs/configuration.md docs/zone-format.md docs/health-checks.md
              docs/geoip.md docs/scaling.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# (The default GeoIP database is installed by geo/CMakeLists.txt.)

# --- Man pages: scdoc sources in docs/man, generated at build time ----------
find_program(SCDOC_EXECUTABLE scdoc)
if(NOT SCDOC_EXECUTABLE)
  message(FATAL_ERROR "scdoc not found: it builds the man pages (Debian package scdoc). "
                      "Run packaging/install-deps.sh.")
endif()
find_program(GZIP_EXECUTABLE gzip REQUIRED)
set(man_outputs "")
foreach(page meridian.8 meridian.toml.5)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/${page}.scd)
  set(out ${CMAKE_BINARY_DIR}/man/${page}.gz)
  string(REGEX MATCH "[0-9]$" section ${page})
  # gzip -n: no name or time stamp in the archive, so builds are reproducible.
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "'${SCDOC_EXECUTABLE}' < '${src}' | '${GZIP_EXECUTABLE}' -9n > '${out}.tmp' && mv '${out}.tmp' '${out}'"
    DEPENDS ${src}
    COMMENT "Generating man page ${page}"
    VERBATIM)
  list(APPEND man_outputs ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${man_outputs})

# --- Debian package -----------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME meridian)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Meridian maintainers <meridian@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "authoritative GeoDNS server")
set(CPACK_PACKAGE_DESCRIPTION "Meridian answers DNS queries for zones written in TOML and picks records \
per client with routing policies (weighted, failover, multivalue, geolocation, latency) that follow \
health checks. Ships a systemd unit, a default configuration and a country/continent GeoIP database.")
# Debian ships stripped binaries (RelWithDebInfo's debug info stays in the
# build tree's binary).
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${MERIDIAN_PACKAGE_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # meridian_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/meridian")
# Library dependencies from the binary (dpkg-shlibdeps); adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dnsutils")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${pkg}/debian/conffiles ${pkg}/debian/postinst ${pkg}/debian/prerm ${pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
