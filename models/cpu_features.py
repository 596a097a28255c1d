"""What this CPU offers the inference runtimes: its name and vector instruction sets (AVX2, AVX-512, bf16, AMX).

Benchmarks print it beside every timing, and the engine keys its per-machine choices on it.
"""
import functools
import os
import platform
from pathlib import Path
from typing import FrozenSet, Optional

# oneDNN (inside PyTorch and OpenVINO) reads these; a value such as AVX2 keeps it off AVX-512 and bf16.
ONEDNN_CAP_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


@functools.lru_cache(maxsize=1)
def _cpuinfo_fields() -> dict:
    """The first processor's fields of /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def cpu_flags() -> FrozenSet[str]:
    return frozenset(_cpuinfo_fields().get("flags", "").split())


def cpu_name() -> str:
    return _cpuinfo_fields().get("model name") or platform.processor() or platform.machine() or "unknown CPU"


def onednn_isa_cap() -> Optional[str]:
    """The instruction-set cap set for oneDNN in the environment (e.g. 'AVX2'), or None."""
    for name in ONEDNN_CAP_VARIABLES:
        value = os.environ.get(name, "").strip().upper()
        if value and value not in ("ALL", "DEFAULT"):
            return value
    return None


def _cap_allows(*markers: str) -> bool:
    cap = onednn_isa_cap()
    return cap is None or any(marker in cap for marker in markers)


def has_avx512() -> bool:
    return "avx512f" in cpu_flags() and _cap_allows("AVX512", "AVX10", "AMX")


def _cpu_has_bf16(flags: FrozenSet[str]) -> bool:
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def has_bf16() -> bool:
    """Native bf16 arithmetic (AVX-512 BF16 or AMX) that oneDNN may use here, where bf16 inference can beat fp32.
    Under an ISA cap without bf16 (ONEDNN_MAX_CPU_ISA=AVX2), OpenVINO cannot compile for bf16 at all."""
    return _cpu_has_bf16(cpu_flags()) and _cap_allows("BF16", "FP16", "AVX10", "AMX")


def torch_kernel_isa() -> str:
    """The instruction set PyTorch's own kernels use here (ATEN_CPU_CAPABILITY can lower it)."""
    try:
        import torch
        return torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        return "unknown"


def isa_summary() -> str:
    """'AVX2', 'AVX-512', 'AVX-512 + bf16' or 'AVX-512 + bf16 + AMX' (from the CPU's flags; PyTorch's view when
    the flags are unreadable)."""
    flags = cpu_flags()
    if not flags:
        return torch_kernel_isa()
    parts = ["AVX-512" if has_avx512() else "AVX2" if "avx2" in flags else "no AVX2"]
    if has_bf16():
        parts.append("bf16")
    if "amx_tile" in flags and _cap_allows("AMX"):
        parts.append("AMX")
    summary = " + ".join(parts)
    cap = onednn_isa_cap()
    return f"{summary} (oneDNN capped at {cap})" if cap else summary


def describe_cpu() -> str:
    """One line for benchmark output, e.g. 'AMD EPYC, 2 threads available: AVX2 (no AVX-512, no bf16)'."""
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    flags = cpu_flags()
    missing = [name for name, present in (("AVX-512", "avx512f" in flags), ("bf16", _cpu_has_bf16(flags)))
               if not present]
    note = f" (no {', no '.join(missing)})" if missing and flags else ""
    return f"{cpu_name()}, {threads} hardware threads: {isa_summary()}{note}; PyTorch kernels: {torch_kernel_isa()}"
