"""An operator's optimised build: `cmake -DCMAKE_BUILD_TYPE=Release` (-O3)
must build with the project's default -Werror, not only the default
RelWithDebInfo (-O2) that the rest of the suite runs.

GCC 12 at -O3 warns inside libstdc++ on sound code (CMakeLists.txt); these
are the sources where it did. Compiling them as objects of a fresh Release
tree takes seconds, where the whole build would take minutes.
"""

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness as h

# Sources GCC 12 -O3 warned about (-Wmaybe-uninitialized, -Wrestrict,
# -Warray-bounds); each object failed the build before CMakeLists.txt
# demoted those warnings for Release.
# (directory of the tree whose Makefile has the object, object target)
OBJECTS = [("geo", "latency_model.cpp.o"), (".", "zones/zone_set.cpp.o"), (".", "server/runtime.cpp.o"),
           (".", "server/socket_bind.cpp.o"), (".", "server/cidr.cpp.o")]


class ReleaseBuildTest(unittest.TestCase):
    def test_release_objects_build_with_werror(self):
        if not shutil.which("cmake") or not shutil.which("make"):
            self.skipTest("cmake and make are needed to configure a second build tree")
        with tempfile.TemporaryDirectory(prefix="meridian-release-") as tmp:
            build = Path(tmp)
            conf = subprocess.run(["cmake", "-S", str(h.SOURCE_DIR), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                                   "-DMERIDIAN_WERROR=ON"], capture_output=True, text=True, timeout=60)
            self.assertEqual(conf.returncode, 0, conf.stdout + conf.stderr)
            cache = (build / "CMakeCache.txt").read_text()
            self.assertIn("CMAKE_BUILD_TYPE:STRING=Release", cache)
            for sub, name in OBJECTS:
                obj = f"{sub}/{name}"
                r = subprocess.run(["make", "-C", str(build / sub), name], capture_output=True, text=True,
                                   timeout=90)
                errors = [l for l in (r.stdout + r.stderr).splitlines() if "error" in l]
                self.assertEqual(r.returncode, 0, f"{obj} in a Release build:\n" + "\n".join(errors[:10]))


if __name__ == "__main__":
    unittest.main()
