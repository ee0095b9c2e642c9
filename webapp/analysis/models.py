"""What the analysis keeps in the database: the daily self-validation's scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow


class ForecastScore(Base):
    """One day's backtest of one metric: the MAE of one method at one horizon, forecasting
    that day's readings from the data before each moment only."""

    __tablename__ = "forecast_scores"
    __table_args__ = (UniqueConstraint("day", "metric", "method", "horizon"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the unique key below indexes it
    metric: Mapped[str] = mapped_column(String(40))  # catalogue key, "pc.cpu_percent"
    method: Mapped[str] = mapped_column(String(20))  # "model" or a baseline
    horizon: Mapped[str] = mapped_column(String(8))  # "30m", "1h", "24h"
    mae: Mapped[float] = mapped_column(Float)
    origins: Mapped[int] = mapped_column(Integer)  # forecasts scored
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
