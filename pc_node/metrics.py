"""What the PC reports every few seconds: CPU and RAM (psutil), GPU (NVML) when there is one."""

from __future__ import annotations

import logging
from typing import Any

import psutil

log = logging.getLogger(__name__)
GB = 1024**3


class MetricsSampler:
    def __init__(self) -> None:
        self._gpu = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._gpu = (
                pynvml.nvmlDeviceGetHandleByIndex(0) if pynvml.nvmlDeviceGetCount() else None
            )
        except Exception as exc:  # no driver, no GPU, no library: CPU-only PC
            log.info("no GPU metrics: %s", exc)
        psutil.cpu_percent(None)  # the first reading is meaningless; prime it

    @property
    def has_gpu(self) -> bool:
        return self._gpu is not None

    def sample(self) -> dict[str, Any]:
        memory = psutil.virtual_memory()
        values: dict[str, Any] = {
            "cpu_percent": psutil.cpu_percent(None),
            "ram_used_gb": round((memory.total - memory.available) / GB, 2),
            "ram_total_gb": round(memory.total / GB, 2),
            "gpu_percent": None,
            "gpu_memory_used_gb": None,
            "gpu_memory_total_gb": None,
            "gpu_temperature_c": None,
        }
        if self._gpu is not None:
            nvml = self._nvml
            try:
                utilisation = nvml.nvmlDeviceGetUtilizationRates(self._gpu)
                gpu_memory = nvml.nvmlDeviceGetMemoryInfo(self._gpu)
                values.update(
                    gpu_percent=float(utilisation.gpu),
                    gpu_memory_used_gb=round(gpu_memory.used / GB, 2),
                    gpu_memory_total_gb=round(gpu_memory.total / GB, 2),
                    gpu_temperature_c=float(
                        nvml.nvmlDeviceGetTemperature(self._gpu, nvml.NVML_TEMPERATURE_GPU)
                    ),
                )
            except nvml.NVMLError as exc:
                log.warning("GPU metrics failed: %s", exc)
        return values
