"""The machine description every report and benchmark prints."""
import os

from jaxcraft.machine import cpu_description, simd_level


def test_simd_level_names_the_widest_extension():
    assert simd_level("fpu sse2 avx avx2 avx512f avx512dq") == "AVX-512"
    assert simd_level("fpu sse2 avx avx2 fma") == "AVX2"
    assert simd_level("fpu sse2 avx") == "AVX"
    assert simd_level("fp asimd") == "" and simd_level("") == ""
    assert simd_level("avx2x") == ""          # whole flags only


def test_description_names_cores_and_on_linux_the_cpu_generation():
    d = cpu_description()
    assert d.endswith(f", {os.cpu_count()} cores")
    if os.path.exists("/proc/cpuinfo") and "cpu family" in open("/proc/cpuinfo").read():
        assert "family " in d and "model " in d
