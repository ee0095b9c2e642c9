"""Levels with hysteresis, and the one validation of levels an admin types."""

import pytest

from webapp.monitoring.errors import MonitoringError
from webapp.monitoring.thresholds import DEFAULTS, Level, level_of, validate

CPU = DEFAULTS["pc.cpu_percent"]  # warning 80, critical 95, hysteresis 5


def walk(values):
    level, seen = Level.OK, []
    for value in values:
        level = level_of(value, CPU, level)
        seen.append(level.value)
    return seen


def test_the_specification_defaults():
    assert (CPU.warning, CPU.critical) == (80, 95)
    assert (DEFAULTS["pc.gpu_percent"].warning, DEFAULTS["pc.gpu_percent"].critical) == (85, 98)
    assert (DEFAULTS["pc.ram_used_gb"].warning, DEFAULTS["pc.ram_used_gb"].critical) == (25, 30)
    assert (DEFAULTS["vds.cpu_percent"].warning, DEFAULTS["vds.cpu_percent"].critical) == (75, 90)
    assert (DEFAULTS["vds.ram_used_gb"].warning, DEFAULTS["vds.ram_used_gb"].critical) == (9, 11)


def test_a_value_must_go_above_the_line():
    assert walk([80, 80.1, 95, 95.5]) == ["ok", "warning", "warning", "critical"]


def test_a_value_hovering_at_a_line_does_not_flap():
    assert walk([81, 79, 81, 78, 76, 74.9]) == [
        "warning",
        "warning",
        "warning",
        "warning",
        "warning",
        "ok",
    ]
    assert walk([96, 94, 96, 91, 89.9, 60]) == [
        "critical",
        "critical",
        "critical",
        "critical",
        "warning",
        "ok",
    ]


@pytest.mark.parametrize(
    ("warning", "critical", "hysteresis", "field"),
    [
        (95, 95, 5, "warning"),
        (96, 95, 5, "warning"),
        (None, 95, 5, "warning"),
        (80, -1, 5, "critical"),
        (80, 95, -1, "hysteresis"),
        (3, 95, 5, "hysteresis"),
    ],
)
def test_bad_levels_are_refused_naming_the_field(app, warning, critical, hysteresis, field):
    with app.test_request_context(), pytest.raises(MonitoringError) as error:
        validate("pc.cpu_percent", warning, critical, hysteresis)
    assert error.value.field == field


def test_good_levels_pass(app):
    with app.test_request_context():
        assert validate("vds.cpu_percent", 70, 85, 3).critical == 85
