"""Jinja filters and globals shared by every page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    return "—" if value is None else f"{value.strftime(fmt)} UTC"


def format_score(value: float | None) -> str:
    if value is None:
        return "—"
    rounded = round(value, 1)
    return f"{rounded:g}"


def format_duration(value: timedelta | float | None) -> str:
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(value: int | float | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _globals() -> dict[str, Any]:
    return {"org_name": current_app.config["HELDOUT_ORG_NAME"]}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=format_datetime, score=format_score,
                                 duration=format_duration, filesize=format_bytes,
                                 metric=format_metric)
    app.context_processor(_globals)
