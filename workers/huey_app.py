"""The Huey instance: SqliteHuey under instance/ by default, RedisHuey when REDIS_URL is set."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from config.settings import Settings, load_settings


def make_huey(settings: Settings) -> Huey:
    immediate = settings.env == "test"
    if settings.redis_url:
        # The queue's keys carry REDIS_PREFIX: deployments sharing one Redis never share tasks.
        return RedisHuey(
            f"{settings.redis_prefix}huey",
            url=settings.redis_url,
            immediate=immediate,
            clean_name=False,
        )
    settings.huey_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("mehhost", filename=str(settings.huey_sqlite_path), immediate=immediate)


settings = load_settings()
huey = make_huey(settings)
