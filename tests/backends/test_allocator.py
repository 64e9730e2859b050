"""glibc's thresholds are really set (in a fresh process, so this one keeps its own)."""

import subprocess
import sys

import pytest

from captions.backends.allocator import malloc_tune

SCRIPT = (
    "from captions.backends.allocator import malloc_tune as t; "
    "print(t(mmap_threshold_mb={}, trim_threshold_mb={}))"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_thresholds():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(64, 128)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"


def test_zero_leaves_the_allocator_alone():
    assert malloc_tune(mmap_threshold_mb=0, trim_threshold_mb=0) is False
