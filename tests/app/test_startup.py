"""Start-up refuses bad configuration with a message naming the setting."""

from dataclasses import replace

import pytest

from config.settings import ConfigError
from webapp import create_app


def test_unreachable_database_stops_start_up_naming_the_setting(settings):
    broken = replace(settings, database_url="mysql+pymysql://root@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: cannot reach the database"):
        create_app(broken)


def test_unopenable_sqlite_file_stops_start_up(settings, tmp_path):
    missing_dir = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    with pytest.raises(ConfigError, match=r"^DATABASE_URL"):
        create_app(replace(settings, database_url=f"sqlite:///{missing_dir}"))
