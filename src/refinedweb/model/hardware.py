"""Peak dense bf16 FLOP/s of the GPU we run on, for MFU.

nanoGPT's ``estimate_mfu`` divides by a fixed A100 312 TFLOPS, so on an H100 it prints "MFU" in A100 units (nanoGPT
#182, #464, #555, #619; nanochat #60). We look the device name up instead. Numbers are dense (not 2:4 sparse) bf16
tensor-core peaks, as in torchtitan ``tools/utils.py::get_peak_flops`` and NVIDIA's data sheets; an unknown GPU
gives ``None`` (MFU is then not reported) unless the user passes ``peak_flops``.
"""

from __future__ import annotations

# (substring of torch.cuda.get_device_name(), peak FLOP/s). More specific names first.
PEAK_BF16_FLOPS: list[tuple[str, float]] = [
    ("GB200", 2.5e15),
    ("B200", 2.25e15),
    ("H200", 989e12),
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM
    ("H800", 989e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("RTX 4090", 165.2e12),
]


def peak_flops(device_name: str) -> float | None:
    """Peak dense bf16 FLOP/s for a CUDA device name, or None when the device is not in the table."""
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in device_name.lower():
            return flops
    return None


def detect_peak_flops(device: str) -> tuple[str, float | None]:
    """(device name, peak FLOP/s or None) for ``device`` ("cuda", "cuda:1", "cpu")."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(torch.device(device))
        return name, peak_flops(name)
    return "cpu", None
