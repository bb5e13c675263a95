import pytest

from refinedweb.model.hardware import detect_peak_flops, peak_flops


@pytest.mark.parametrize(
    "name,expected",
    [
        ("NVIDIA H100 80GB HBM3", 989e12),  # SXM
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H100 NVL", 835e12),
        ("NVIDIA H200", 989e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA GeForce RTX 4090", 165.2e12),
    ],
)
def test_peak_is_looked_up_per_device_not_fixed_to_a100(name, expected):
    assert peak_flops(name) == expected


def test_unknown_device_has_no_peak_so_mfu_is_not_made_up():
    assert peak_flops("NVIDIA GeForce GTX 1080") is None
    assert detect_peak_flops("cpu") == ("cpu", None)
