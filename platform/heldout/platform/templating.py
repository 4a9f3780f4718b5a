"""Jinja filters and globals shared by every page, and the kinds' report-part templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from jinja2 import BaseLoader, ChoiceLoader, Environment, TemplateNotFound

from heldout.graders.errors import UnknownName
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.parts import ReportPart
from heldout.platform.i18n import format_number

KIND_TEMPLATES = "kinds"


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    return "—" if value is None else f"{value.strftime(fmt)} UTC"


# Numbers are written in the page's language (i18n.py: English on staff pages), with
# patterns that give the English pages what they always showed ("85.5", "1.5 KB").
def format_score(value: float | None) -> str:
    if value is None:
        return "—"
    return format_number(round(value, 1), "0.#")


def format_duration(value: timedelta | float | None) -> str:
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{format_number(seconds, '0.0')} s"
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
            return f"{format_number(size, '0' if unit == 'B' else '0.0')} {unit}"
        size /= 1024
    return f"{format_number(size, '0.0')} GB"


def format_metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _globals() -> dict[str, Any]:
    return {"org_name": current_app.config["HELDOUT_ORG_NAME"]}


def kind_template(kind: str, part: ReportPart) -> str:
    """The name a page includes ``part`` of ``kind`` by (see :class:`KindTemplates`)."""
    return f"{KIND_TEMPLATES}/{kind}/{part.template.name}"


class KindTemplates(BaseLoader):
    """The templates of the kinds' report parts, beside each kind's code, by the names
    :func:`kind_template` gives; no other file of a kind's package can be loaded."""

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        prefix, _, rest = template.partition("/")
        kind_name, _, file = rest.partition("/")
        try:
            parts = KINDS.get(kind_name).report_parts if prefix == KIND_TEMPLATES else ()
        except UnknownName:
            parts = ()
        path = next((p.template for p in parts if p.template.name == file), None)
        if path is None:
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime
        return (path.read_text(encoding="utf-8"), str(path),
                lambda: path.is_file() and path.stat().st_mtime == mtime)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=format_datetime, score=format_score,
                                 duration=format_duration, filesize=format_bytes,
                                 metric=format_metric)
    app.context_processor(_globals)
    app.jinja_env.loader = ChoiceLoader([app.create_global_jinja_loader(), KindTemplates()])
