"""Which metrics we collect, from where, in which unit, and how fast each source reports."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

PC, VDS = "pc", "vds"
SOURCES = (PC, VDS)
INTERVAL_S = {PC: 5, VDS: 10}  # how often each source reports (pc_node pushes, the VDS samples)
RING_KEEP = {PC: 720, VDS: 360}  # one hour of samples at those intervals
SOURCE_LABELS = {PC: _l("ПК с ИИ"), VDS: _l("Сервер VDS")}


# A metric's unit is a code (kept in data and compared in code); people read its label.
UNIT_LABELS = {"%": "%", "GB": _l("ГБ"), "ms": _l("мс"), "kbit/s": _l("кбит/с")}


@dataclass(frozen=True)
class Metric:
    source: str
    name: str
    label: object  # a lazy gettext string
    unit: str
    scale_key: str = ""  # the sample field that holds the metric's full scale (e.g. total RAM)
    scale: float = 100.0  # the full scale when there is no such field

    @property
    def key(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def unit_label(self) -> str:
        return str(UNIT_LABELS.get(self.unit, self.unit))


METRICS = {
    metric.key: metric
    for metric in (
        Metric(PC, "cpu_percent", _l("CPU"), "%"),
        Metric(PC, "gpu_percent", _l("GPU"), "%"),
        Metric(PC, "ram_used_gb", _l("RAM"), "GB", scale_key="ram_total_gb", scale=32.0),
        Metric(PC, "ai_first_token_ms", _l("Отклик ИИ"), "ms", scale=5000.0),
        Metric(VDS, "cpu_percent", _l("CPU"), "%"),
        Metric(VDS, "ram_used_gb", _l("RAM"), "GB", scale_key="ram_total_gb", scale=12.0),
        Metric(VDS, "disk_percent", _l("Диск"), "%"),
        Metric(VDS, "net_kbps", _l("Сеть"), "kbit/s", scale=100_000.0),
    )
}
WIDGETS = {
    PC: ("pc.cpu_percent", "pc.gpu_percent", "pc.ram_used_gb", "pc.ai_first_token_ms"),
    VDS: ("vds.cpu_percent", "vds.ram_used_gb", "vds.disk_percent", "vds.net_kbps"),
}


def metrics_of(source: str) -> list[Metric]:
    return [metric for metric in METRICS.values() if metric.source == source]
