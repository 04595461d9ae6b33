"""A server started without GLIBC_TUNABLES (from a shell, or by a
supervisor of the operator's own) sets the packaged unit's malloc
thresholds itself (server/malloc_defaults.*), so a large zone loads with
fewer page faults; an operator's own variable, even an empty one, is left
alone. Counted on `meridian check` of a 100,000-record zone: the minor
faults of the process (getrusage of the reaped children). Measured: 9,730
without the variable, 15,345 with it empty (1,000,000 records: 104,660 against 144,740)."""
from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness as h

RECORDS = 100_000


def write_zone(d: Path) -> Path:
    (d / "zones").mkdir()
    records = "".join(f'[records.h{i}]\nA = "10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"\n\n'
                      for i in range(RECORDS))
    (d / "zones" / "big.example.toml").write_text(h.soa_zone("big.example.", records))
    config = d / "meridian.toml"
    config.write_text('[server]\nzones = "zones"\n')
    return config


class MallocDefaultsTest(unittest.TestCase):
    def test_fewer_faults_without_the_variable(self):
        if h.SANITIZER_EXIT is not None:
            self.skipTest("sanitizer build: its allocator replaces glibc's malloc and ignores mallopt")
        with tempfile.TemporaryDirectory() as tmp:
            config = write_zone(Path(tmp))
            faults = {"unset": self.faults(config, None), "empty": self.faults(config, "")}
            # A load with the defaults applied faults a third less here;
            # without them both runs are the same to within a few faults.
            self.assertLess(faults["unset"], 0.85 * faults["empty"], faults)

    def faults(self, config: Path, tunables: str | None) -> int:
        """Minor page faults of `meridian check` with GLIBC_TUNABLES unset
        (None) or set to `tunables`: the growth of this process's total
        over its reaped children (it has no other child meanwhile)."""
        env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        if tunables is not None:
            env["GLIBC_TUNABLES"] = tunables
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        r = subprocess.run([str(h.MERIDIAN_BIN), "check", "--config", str(config)], env=env,
                           capture_output=True, text=True, timeout=60)
        h.check_sanitizer(r.stderr, r.returncode, "meridian check")
        self.assertEqual(r.returncode, 0, r.stderr)
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before


if __name__ == "__main__":
    unittest.main()
